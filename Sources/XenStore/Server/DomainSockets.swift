import Glibc
import Synchronization

/// The introduced domains of a `XenStoreServer` and the socket each one connects on.
///
/// Introducing domain N (the server's `introduce(_:)`, or `XS_INTRODUCE` from a privileged
/// client) listens on `<socket>.d<N>`: every client connecting there is domain N. Releasing it
/// (`release(_:)`, `XS_RELEASE`) closes and removes that socket and disconnects its clients.
/// Each fires its special watch event (`@introduceDomain`, `@releaseDomain`). Thread-safe; the
/// server loop polls the listeners and accepts on them.
final class DomainSockets: Sendable {
    private let serverSocket: String
    private let core: StoreCore
    private let wake: @Sendable () -> Void
    /// The listening socket of each introduced domain; nil once the server has stopped.
    private let listeners = Mutex<[DomainID: Int32]?>([:])

    init(serverSocket: String, core: StoreCore, wake: @escaping @Sendable () -> Void) {
        self.serverSocket = serverSocket
        self.core = core
        self.wake = wake
    }

    /// Listens for `domain`'s clients (nothing changes if it is already introduced) and returns the socket path.
    func introduce(_ domain: DomainID) throws(XenStoreError) -> String {
        let path = XenStoreServer.domainSocketPath(for: domain, serverSocket: serverSocket)
        let isNew = try listeners.withLock { (listeners: inout [DomainID: Int32]?) throws(XenStoreError) -> Bool in
            guard listeners != nil else { throw .connection("the server has stopped") }
            guard listeners?[domain] == nil else { return false }
            listeners?[domain] = try UnixSocket.listen(at: path)
            return true
        }
        if isNew {
            core.announce("@introduceDomain")
            wake()
        }
        return path
    }

    /// Stops listening for `domain` and removes its socket; `ENOENT` if it is not introduced.
    /// Its connected clients are dropped by the server loop.
    func release(_ domain: DomainID) throws(XenStoreError) {
        guard let fd = listeners.withLock({ $0?.removeValue(forKey: domain) }) else { throw .store(.ENOENT, path: nil) }
        close(fd)
        unlink(XenStoreServer.domainSocketPath(for: domain, serverSocket: serverSocket))
        core.announce("@releaseDomain")
        wake()
    }

    /// Whether `domain` is introduced (domain 0 always is).
    func isIntroduced(_ domain: DomainID) -> Bool {
        domain.isPrivileged || listeners.withLock { $0?[domain] != nil }
    }

    /// The listening sockets now, to poll.
    func snapshot() -> [(domain: DomainID, fd: Int32)] {
        listeners.withLock { $0?.map { (domain: $0.key, fd: $0.value) } ?? [] }
    }

    /// Accepts a client of `domain` on `fd`, unless the domain was released since the snapshot.
    func accept(_ domain: DomainID, on fd: Int32) -> Int32? {
        listeners.withLock { listeners in
            guard listeners?[domain] == fd else { return nil }
            let client = Glibc.accept(fd, nil, nil)
            return client >= 0 ? client : nil
        }
    }

    /// Closes and removes every domain socket; later introductions fail (the server is stopping).
    func closeAll() {
        let all = listeners.withLock { listeners -> [DomainID: Int32] in
            let all = listeners ?? [:]
            listeners = nil
            return all
        }
        for (domain, fd) in all {
            close(fd)
            unlink(XenStoreServer.domainSocketPath(for: domain, serverSocket: serverSocket))
        }
    }
}
