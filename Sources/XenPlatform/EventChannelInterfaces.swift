// Event channels: a table that makes ports, and the ports themselves.

import BlkifRing
import XenStore

/// One local end of an interdomain event channel, usable as the rings' ``EventChannel``.
///
/// Notifications coalesce while pending, as Xen's do: several before one wait wake it once.
/// One thread (or task) waits on a port at a time.
public protocol EventChannelPort: EventChannel, AnyObject, Sendable {
    /// This end's port number (what XenStore's `event-channel` node carries, for the side that
    /// allocated it).
    var port: EventPort { get }

    /// Signals the other end once.
    func signal() throws(PlatformError)

    /// Sleeps until the other end has signalled since the last wake, or `timeout` passes.
    /// - Returns: `true` on a notification, `false` on timeout.
    /// - Throws: ``PlatformError/peerClosed(_:)`` once the other end is gone.
    func waitForEvent(timeout: Duration) throws(PlatformError) -> Bool

    /// Like ``waitForEvent(timeout:)``, from Swift concurrency: the task is suspended, and no
    /// thread is held per waiting port (one shared reactor thread watches them all).
    func nextEvent(timeout: Duration) async throws(PlatformError) -> Bool

    /// Closes this end; the other end sees ``PlatformError/peerClosed(_:)``. Idempotent.
    func close()
}

/// A domain's event-channel table: allocates ports for a peer domain and binds to the peer's.
public protocol EventChannelTable: AnyObject, Sendable {
    /// The ports this table makes.
    associatedtype Port: EventChannelPort

    /// Allocates a port that `remote` may bind to (`EVTCHNOP_alloc_unbound`).
    func allocateUnboundPort(for remote: DomainID) throws(PlatformError) -> Port

    /// Binds a new local port to `remote`'s unbound `port` (`EVTCHNOP_bind_interdomain`).
    /// - Throws: ``PlatformError/portNotOffered(_:by:)`` when `remote` has no such port for this domain.
    func bind(to remote: DomainID, port: EventPort) throws(PlatformError) -> Port
}

extension EventChannelPort {
    /// Signals the other end once; a failure (the channel is gone) is seen by the next wait.
    public func notify() { try? signal() }

    /// Sleeps until a notification or `timeout`; `false` on timeout or once the peer is gone.
    public func wait(timeout: Duration) -> Bool { (try? waitForEvent(timeout: timeout)) ?? false }
}
