// The thread that serves a domain's socket: hellos, bind requests, and peers that go away.

import CXenPlatform
import Glibc
import Synchronization
import XenStore

/// Serves one domain's socket on a thread of its own: accepts peers (checked with
/// `SO_PEERCRED`), hands them the grant table and the arena, answers bind requests, and forgets
/// a peer whose process is gone (releasing the in-use marks of its grants).
///
/// Only this thread closes peer connections, so a descriptor it polls is never reused under it.
final class LoopbackServer: @unchecked Sendable {  // safe: the thread id is set once before start returns
    private let listener: Int32
    private let wake: Int32
    private let path: String
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?

    /// The most peers served at once; more are refused at hello.
    static let maximumPeers = 64
    /// How long a new peer has to send its hello (the thread serves no one else meanwhile).
    static let helloTimeout = Duration.seconds(1)

    /// Binds and listens at `path`.
    init(path: String) throws(PlatformError) {
        listener = try SystemCall.check(cxp_listen_unix(path), "listen on \(path)")
        let wake = cxp_eventfd()
        guard wake >= 0 else {
            Glibc.close(listener)
            throw .systemCall("eventfd", errno: -wake)
        }
        self.wake = wake
        self.path = path
    }

    /// Starts serving `platform` (held weakly: the platform's deinit stops the thread).
    func start(_ platform: LoopbackPlatform) {
        let context = Unmanaged.passRetained(ServerContext(server: self, platform: platform)).toOpaque()
        var id = pthread_t()
        let result = pthread_create(&id, nil, { raw in
            let context = Unmanaged<ServerContext>.fromOpaque(raw!).takeRetainedValue()
            context.server.serve(context)
            return nil
        }, context)
        precondition(result == 0, "pthread_create failed: \(result)")
        thread = id
    }

    /// Wakes the thread to look at its peers again (one was retired by another thread).
    func poke() { _ = cxp_eventfd_signal(wake) }

    /// Stops the thread, waits for it (unless called from it), closes the socket and removes it.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        poke()
        if let thread {
            if pthread_equal(thread, pthread_self()) != 0 { pthread_detach(thread) } else { pthread_join(thread, nil) }
        }
        Glibc.close(listener)
        Glibc.close(wake)
        unlink(path)
    }

    /// The serving loop: poll the wake descriptor, the listener and every peer; act; repeat.
    private func serve(_ context: ServerContext) {
        while !stopping.load(ordering: .acquiring) {
            guard let platform = context.platform else { return }
            let peers = platform.granting.withLock { state in
                for socket in state.retired { Glibc.close(socket) }
                state.retired = []
                return state.peers.map { (domain: $0.key, socket: $0.value) }
            }
            var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            fds += peers.map { pollfd(fd: $0.socket, events: Int16(POLLIN) | cxp_poll_read_hang_up, revents: 0) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { return }
            if fds[0].revents != 0 {
                var value: UInt64 = 0
                _ = cxp_eventfd_drain(wake, &value)
            }
            if fds[1].revents != 0 { acceptPeers(platform) }
            for (peer, descriptor) in zip(peers, fds.dropFirst(2)) where descriptor.revents != 0 {
                platform.serveRequest(from: peer.domain, on: peer.socket)
            }
        }
    }

    /// Accepts every waiting connection and runs its hello.
    private func acceptPeers(_ platform: LoopbackPlatform) {
        while true {
            let socket = cxp_accept(listener)
            guard socket >= 0 else { return }
            platform.greet(socket)
        }
    }
}

/// What the server thread holds: itself, and its platform weakly.
private final class ServerContext {
    let server: LoopbackServer
    weak var platform: LoopbackPlatform?

    init(server: LoopbackServer, platform: LoopbackPlatform) {
        self.server = server
        self.platform = platform
    }
}

extension LoopbackPlatform {
    /// Runs a new peer's hello: checks its user, its message and its claimed domain, then hands
    /// over the grant table and the arena. A refused peer gets a status and is closed.
    func greet(_ socket: Int32) {
        let status = admit(socket)
        if status != .ok {
            try? LoopbackWire.send([status.rawValue], on: socket)
            Glibc.close(socket)
        }
    }

    private func admit(_ socket: Int32) -> LoopbackWire.Status {
        guard LoopbackWire.peerIsTrusted(socket) else { return .credentialsRefused }
        guard let hello = try? LoopbackWire.receive(on: socket, timeout: LoopbackServer.helloTimeout) else { return .badRequest }
        hello.closeDescriptors()  // a hello carries none
        guard hello.words.count == 2, hello.words[0] == LoopbackWire.magic, hello.words[1] & 0xFFFF == LoopbackWire.version else {
            return .badRequest
        }
        let peer = DomainID(UInt16(hello.words[1] >> 16))
        guard peer != domain else { return .badRequest }
        return granting.withLock { state in
            if let existing = state.peers[peer] {
                guard LoopbackWire.peerIsGone(existing) else { return .domainAlreadyConnected }
                forget(peer: peer, in: &state)
            }
            guard state.peers.count < LoopbackServer.maximumPeers else { return .domainAlreadyConnected }
            let words = [LoopbackWire.Status.ok.rawValue, UInt32(grantEntries), UInt32(arenaPages)]
            guard (try? LoopbackWire.send(words, descriptors: [table.descriptor, arena.descriptor], on: socket)) != nil else {
                return .badRequest
            }
            state.peers[peer] = socket
            return .ok
        }
    }

    /// Serves one message from `peer` (a bind request), or forgets the peer when it is gone or
    /// breaks the protocol.
    func serveRequest(from peer: DomainID, on socket: Int32) {
        granting.withLock { state in
            guard state.peers[peer] == socket else { return }  // retired meanwhile
            guard let message = try? LoopbackWire.receive(on: socket, timeout: .zero) else {
                return forget(peer: peer, in: &state)
            }
            message.closeDescriptors()  // requests carry none
            guard message.words.count == 2, message.words[0] == LoopbackWire.bindOperation else {
                try? LoopbackWire.send([LoopbackWire.Status.badRequest.rawValue], on: socket)
                return forget(peer: peer, in: &state)
            }
            let port = EventPort(message.words[1])
            guard let offered = state.unbound[port], offered.remote == peer else {
                let refusal = [LoopbackWire.Status.portNotOffered.rawValue, port.rawValue]
                if (try? LoopbackWire.send(refusal, on: socket)) == nil { forget(peer: peer, in: &state) }  // it does not read
                return
            }
            let words = [LoopbackWire.Status.ok.rawValue, port.rawValue]
            guard (try? LoopbackWire.send(words, descriptors: offered.handOver, on: socket)) != nil else {
                return forget(peer: peer, in: &state)
            }
            state.unbound[port] = nil
            Glibc.close(offered.handOver[2])  // the binder's end of the liveness pair is the binder's now
        }
    }
}
