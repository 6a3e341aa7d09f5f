// Event channels between loopback domains: eventfds for the doorbells, a socket pair for liveness.

import CXenPlatform
import Glibc
import XenStore

extension LoopbackPlatform: EventChannelTable {
    /// Allocates a port `remote` may bind to: two eventfds (one per direction) and a socket pair
    /// whose far end goes to the binder, so each end sees the other's exit as a hang-up.
    public func allocateUnboundPort(for remote: DomainID) throws(PlatformError) -> LoopbackEventPort {
        var made: [Int32] = []
        do throws(PlatformError) {
            for _ in 0..<2 { made.append(try SystemCall.check(cxp_eventfd(), "eventfd")) }
            var pair: [Int32] = [-1, -1]
            try SystemCall.check(cxp_socketpair(&pair), "socketpair")
            made += pair
        } catch {
            for descriptor in made { Glibc.close(descriptor) }
            throw error
        }
        let port = EventPort(nextPort.add(1, ordering: .relaxed).oldValue)
        granting.withLock { state in
            state.unbound[port] = UnboundPort(remote: remote, handOver: [made[0], made[1], made[3]])
        }
        return LoopbackEventPort(port: port, remote: remote, incoming: made[0], outgoing: made[1], liveness: made[2], allocator: self)
    }

    /// Binds to `remote`'s unbound `port`: asks `remote`'s platform for the port's descriptors.
    public func bind(to remote: DomainID, port: EventPort) throws(PlatformError) -> LoopbackEventPort {
        try mapping.withLock { (state) throws(PlatformError) -> LoopbackEventPort in
            let connection = try connection(to: remote, in: &state)
            try LoopbackWire.send([LoopbackWire.bindOperation, port.rawValue], on: connection.socket)
            let reply = try bindReply(for: port, from: remote, on: connection.socket)
            do throws(PlatformError) {
                try PeerConnection.checkStatus(reply, domain: remote, words: 2, descriptors: 3, port: port)
            } catch {
                reply.closeDescriptors()
                throw error
            }
            let local = EventPort(nextPort.add(1, ordering: .relaxed).oldValue)
            let fds = reply.descriptors
            return LoopbackEventPort(port: local, remote: remote, incoming: fds[1], outgoing: fds[0], liveness: fds[2], allocator: nil)
        }
    }

    /// The reply to the bind request for `port`, skipping (and closing) a late reply to an
    /// earlier request that timed out.
    private func bindReply(for port: EventPort, from remote: DomainID, on socket: Int32) throws(PlatformError) -> LoopbackWire.Message {
        let deadline = ContinuousClock.now + LoopbackWire.replyTimeout
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { throw .peerUnreachable(remote, reason: "no reply to binding \(port) within \(LoopbackWire.replyTimeout)") }
            guard let reply = try LoopbackWire.receive(on: socket, timeout: left) else {
                throw .peerUnreachable(remote, reason: "closed the connection while binding \(port)")
            }
            if reply.words.count == 2 && reply.words[1] != port.rawValue {
                reply.closeDescriptors()
                continue
            }
            return reply
        }
    }

    /// Withdraws an unbound port's offer (its port is being closed) and closes the binder's end.
    func withdraw(_ port: EventPort) {
        granting.withLock { state in
            guard let offered = state.unbound.removeValue(forKey: port) else { return }
            Glibc.close(offered.handOver[2])
        }
    }
}
