import Foundation
import Glibc
import Synchronization

/// An embedded xenstored: serves an `InMemoryXenStore` tree over a Unix socket with the Xen
/// wire protocol, so the real xenstore-utils, libxenstore and `XenStoreClient` can use it.
///
/// One poll(2) thread serves every client. A client of the main socket is domain 0; a client
/// of `<socket>.d<N>`, which exists while domain N is introduced (`introduce(_:)` or
/// `XS_INTRODUCE`), is domain N, held to its permissions and the store's quotas. A client that
/// disconnects (even mid-message or mid-transaction) has its watches and transactions
/// dropped; one that announces a payload over 4096 bytes gets `XS_ERROR E2BIG` and is
/// disconnected; malformed requests get `XS_ERROR` and leave the tree and other clients alone;
/// one that sends faster than it reads is slowed, not dropped.
public final class XenStoreServer: Sendable {
    /// Most simultaneous clients; further connections are closed at once.
    public static let maxClients = 512

    /// The socket the server listens on.
    public let socketPath: String
    /// A domain-0 session on the served tree, for in-process use alongside socket clients.
    public let store: InMemoryXenStore

    private let listener: Int32
    private let domains: DomainSockets
    private let wakePipe: (read: Int32, write: Int32)
    private let started = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Listens on `socketPath` (a stale socket file there is replaced; the parent directory
    /// must exist) serving the tree of `store`, or a new empty tree. Call `start()` to serve.
    public init(socketPath: String, store: InMemoryXenStore = InMemoryXenStore()) throws(XenStoreError) {
        self.socketPath = socketPath
        self.store = store
        listener = try UnixSocket.listen(at: socketPath)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            Glibc.close(listener)
            throw .connection("pipe: \(UnixSocket.errorText())")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakePipe = (fds[0], fds[1])
        domains = DomainSockets(serverSocket: socketPath, core: store.core, wake: Self.wakeCallback(fds[1]))
    }

    /// The socket on which clients of `domain` connect to the server listening on `serverSocket`:
    /// `<serverSocket>.d<domain>`.
    public static func domainSocketPath(for domain: DomainID, serverSocket: String) -> String {
        "\(serverSocket).d\(domain.rawValue)"
    }

    /// Introduces `domain` (as `XS_INTRODUCE` does): from now on a client connecting on the
    /// returned socket, `domainSocketPath(for:serverSocket:)`, acts as `domain`. Fires
    /// `@introduceDomain`; introducing a domain already introduced changes nothing.
    /// Domain 0 cannot be introduced (`EINVAL`): it is the main socket.
    @discardableResult
    public func introduce(_ domain: DomainID) throws(XenStoreError) -> String {
        guard !domain.isPrivileged else { throw .store(.EINVAL, path: nil) }
        return try domains.introduce(domain)
    }

    /// Releases `domain` (as `XS_RELEASE` does): its socket is removed and its clients are
    /// disconnected; fires `@releaseDomain`. `ENOENT` if it is not introduced.
    public func release(_ domain: DomainID) throws(XenStoreError) {
        guard !domain.isPrivileged else { throw .store(.EINVAL, path: nil) }
        try domains.release(domain)
    }

    /// Starts serving on a background thread; later calls do nothing.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let loop = ServerLoop(listener: listener, wakeFD: wakePipe.read, core: store.core, domains: domains,
                              wake: Self.wakeCallback(wakePipe.write))
        let thread = Thread { [self] in
            loop.run { stopping.load(ordering: .acquiring) }
            finished.signal()
        }
        thread.name = "xenstore-server"
        thread.start()
    }

    /// Stops serving, disconnects every client, closes and removes the socket; later calls do nothing.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if started.exchange(true, ordering: .acquiringAndReleasing) {
            Self.wakeCallback(wakePipe.write)()
            finished.wait()
        }
        domains.closeAll()
        Glibc.close(listener)
        Glibc.close(wakePipe.read)
        Glibc.close(wakePipe.write)
        unlink(socketPath)
    }

    private static func wakeCallback(_ fd: Int32) -> @Sendable () -> Void {
        {
            var byte: UInt8 = 1
            _ = write(fd, &byte, 1)
        }
    }
}
