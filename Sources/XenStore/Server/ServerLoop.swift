import Glibc

/// The poll(2) loop of `XenStoreServer`: accepts clients on the main socket (domain 0) and on
/// each introduced domain's socket, answers their requests, forwards watch events and drops
/// dead connections and those of released domains.
///
/// Confined to the server thread once `run` starts (hence the unchecked `Sendable`).
final class ServerLoop: @unchecked Sendable {
    private let listener: Int32
    private let wakeFD: Int32
    private let core: StoreCore
    private let domains: DomainSockets
    private let wake: @Sendable () -> Void
    private var connections: [ServerConnection] = []

    init(listener: Int32, wakeFD: Int32, core: StoreCore, domains: DomainSockets, wake: @escaping @Sendable () -> Void) {
        self.listener = listener
        self.wakeFD = wakeFD
        self.core = core
        self.domains = domains
        self.wake = wake
    }

    /// Serves until `shouldStop` returns true (checked whenever the wake pipe is written), then
    /// closes every connection.
    func run(until shouldStop: () -> Bool) {
        while !shouldStop() {
            let domainListeners = domains.snapshot()
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            fds += domainListeners.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            for connection in connections {
                let events = (connection.wantsInput ? POLLIN : 0) | (connection.wantsOutput ? POLLOUT : 0)
                fds.append(pollfd(fd: connection.fd, events: Int16(events), revents: 0))
            }
            // Requests already buffered are answered at once; otherwise wait for the sockets.
            let timeout: Int32 = connections.contains(where: \.canAnswerBuffered) ? 0 : -1
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 || errno == EINTR else { break }
            if fds[1].revents != 0 { drainWakePipe() }
            if fds[0].revents & Int16(POLLIN) != 0 { accept(Glibc.accept(listener, nil, nil), as: .dom0) }
            for (listener, result) in zip(domainListeners, fds[2...]) where result.revents & Int16(POLLIN) != 0 {
                accept(domains.accept(listener.domain, on: listener.fd), as: listener.domain)
            }
            service(Array(fds.dropFirst(2 + domainListeners.count)))
        }
        connections.forEach { $0.close() }
        connections.removeAll()
    }

    /// Handles the poll results of the connections polled (a prefix of `connections`).
    private func service(_ results: [pollfd]) {
        for (connection, result) in zip(connections, results) {
            if result.revents & Int16(POLLIN) != 0 && connection.wantsInput {
                connection.receive()
            } else if result.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                connection.markDead()
            }
        }
        for connection in connections {
            connection.answerBuffered()
            connection.collectEvents()
            connection.flush()
            if !domains.isIntroduced(connection.domain) { connection.markDead() }
        }
        let dead = connections.filter(\.isDead)
        connections.removeAll(where: \.isDead)
        dead.forEach { $0.close() }
    }

    private func accept(_ fd: Int32?, as domain: DomainID) {
        guard let fd, fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard connections.count < XenStoreServer.maxClients else {
            close(fd)
            return
        }
        connections.append(ServerConnection(fd: fd, domain: domain, core: core, domains: domains, wake: wake))
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeFD, &buffer, buffer.count) > 0 {}
    }
}
