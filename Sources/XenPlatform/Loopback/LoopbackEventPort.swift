// One end of a loopback event channel.

import CXenPlatform
import Glibc
import Synchronization
import XenStore

/// One end of a loopback event channel: an eventfd this end waits on, an eventfd it signals,
/// and its end of a socket pair whose hang-up means the other end is gone.
///
/// An eventfd adds up the signals written to it and a read takes the sum at once, so
/// notifications sent while one is pending coalesce into one wake, as Xen's do; the counters
/// below show how many did.
public final class LoopbackEventPort: EventChannelPort {
    public let port: EventPort
    /// The domain at the other end.
    public let remote: DomainID
    private let incoming: Int32
    private let outgoing: Int32
    private let liveness: Int32
    private let allocator: LoopbackPlatform?
    private let closed = Atomic<Bool>(false)
    private let sent = Atomic<Int>(0)
    private let wakes = Atomic<Int>(0)
    private let received = Atomic<Int>(0)

    init(port: EventPort, remote: DomainID, incoming: Int32, outgoing: Int32, liveness: Int32, allocator: LoopbackPlatform?) {
        self.port = port
        self.remote = remote
        self.incoming = incoming
        self.outgoing = outgoing
        self.liveness = liveness
        self.allocator = allocator
    }

    /// Notifications this end has sent.
    public var notificationsSent: Int { sent.load(ordering: .relaxed) }
    /// Times a wait returned `true`.
    public var eventsReceived: Int { wakes.load(ordering: .relaxed) }
    /// Notifications the other end sent that those wakes took in (at least ``eventsReceived``;
    /// the difference is what coalesced).
    public var notificationsReceived: Int { received.load(ordering: .relaxed) }

    public func signal() throws(PlatformError) {
        guard !closed.load(ordering: .acquiring) else { throw .noSuchPort(port) }
        try SystemCall.check(cxp_eventfd_signal(outgoing), "eventfd write on \(port)")
        sent.add(1, ordering: .relaxed)
    }

    public func waitForEvent(timeout: Duration) throws(PlatformError) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard !closed.load(ordering: .acquiring) else { throw .noSuchPort(port) }
            let left = ContinuousClock.now.duration(to: deadline)
            let outcome = cxp_wait_readable(incoming, liveness, SystemCall.milliseconds(left))
            switch outcome {
            case 1: if try takeEvents() { return true }
            case 2: throw .peerClosed(port)
            case 0: return false
            default: throw .systemCall("poll on \(port)", errno: -outcome)
            }
        }
    }

    public func nextEvent(timeout: Duration) async throws(PlatformError) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard !closed.load(ordering: .acquiring) else { throw .noSuchPort(port) }
            let left = ContinuousClock.now.duration(to: deadline)
            switch await EventReactor.shared.readiness(of: incoming, hangUp: liveness, timeout: left) {
            case .readable: if try takeEvents() { return true }
            case .hungUp: throw .peerClosed(port)
            case .timedOut: return false
            case .busy: throw .alreadyWaiting(port)
            case .failed(let error): throw .systemCall("epoll on \(port)", errno: error)
            }
        }
    }

    /// Reads and resets the eventfd; `false` when another reader took the events first.
    private func takeEvents() throws(PlatformError) -> Bool {
        var count: UInt64 = 0
        let result = cxp_eventfd_drain(incoming, &count)
        if result == -EAGAIN { return false }
        try SystemCall.check(result, "eventfd read on \(port)")
        wakes.add(1, ordering: .relaxed)
        received.add(Int(truncatingIfNeeded: count), ordering: .relaxed)
        return true
    }

    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        allocator?.withdraw(port)
        for descriptor in [incoming, outgoing, liveness] { Glibc.close(descriptor) }
    }

    deinit { close() }
}
