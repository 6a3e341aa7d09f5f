import Glibc
import Synchronization

/// One client of `XenStoreServer`: its socket, its store session, and its buffers.
///
/// Only the server's loop thread touches it, except `outbox`, which store sinks on any thread
/// fill with watch events. Buffers are bounded: the input by `WireFramer`, the output by
/// `outputLimit` (a client that lets more pile up is dropped).
final class ServerConnection {
    /// Unsent bytes beyond which the connection is dropped.
    static let outputLimit = 1 << 20
    /// Unsent bytes beyond which the server stops reading requests from this client.
    static let readPauseThreshold = 1 << 18

    let fd: Int32
    let session: InMemoryXenStore
    private let outbox = Outbox()
    private var framer = WireFramer()
    private var output: [UInt8] = []
    private(set) var isDead = false

    /// Wraps an accepted socket; watch events are queued and `wake` is called to rouse the loop.
    init(fd: Int32, core: StoreCore, wake: @escaping @Sendable () -> Void) {
        self.fd = fd
        let outbox = outbox
        session = InMemoryXenStore(core: core, domain: .dom0) { event in
            outbox.events.withLock { $0.append(event) }
            wake()
        }
    }

    /// Whether the loop should poll for incoming requests.
    var wantsInput: Bool { !isDead && output.count < Self.readPauseThreshold }
    /// Whether bytes wait to be sent.
    var wantsOutput: Bool { !output.isEmpty }

    /// Reads what the client sent and answers every complete request.
    func receive() {
        guard let bytes = UnixSocket.readSome(fd) else { return markDead() }
        framer.append(bytes)
        let handler = WireRequestHandler(session: session)
        do {
            while let request = try framer.next() {
                output += handler.reply(to: request).encoded
                collectEvents()
            }
        } catch {
            output += WireRequestHandler.errorReply(to: error.header, code: .E2BIG).encoded
            flush()
            markDead()
        }
    }

    /// Moves queued watch events into the output, after any reply already there.
    func collectEvents() {
        let events = outbox.events.withLock { events in
            defer { events.removeAll() }
            return events
        }
        for event in events {
            let payload = WireMessage.strings([event.path, event.token.value])
            output += WireMessage(.watchEvent, requestID: 0, payload: payload).encoded
        }
        if output.count > Self.outputLimit { markDead() }
    }

    /// Sends as much output as the socket takes without blocking.
    func flush() {
        while !output.isEmpty, !isDead {
            let sent = output.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if sent < 0 && errno == EINTR { continue }
            if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            guard sent > 0 else { return markDead() }
            output.removeFirst(sent)
        }
    }

    /// Marks the connection for removal.
    func markDead() { isDead = true }

    /// Releases the socket and the session (its watches and open transactions go with it).
    func close() {
        session.close()
        Glibc.close(fd)
    }
}

/// Watch events waiting to be written to a connection; filled on any thread.
private final class Outbox: Sendable {
    let events = Mutex<[WatchEvent]>([])
}
