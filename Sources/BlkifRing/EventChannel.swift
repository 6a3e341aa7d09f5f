// The seam between "the ring says notify" and however the caller signals its peer.

/// How one end of a ring wakes the other and sleeps until woken: a Xen event channel, or any
/// stand-in for it.
///
/// The rings never signal by themselves; they return a ``NotifyDecision`` and the caller calls
/// ``notify()`` on ``NotifyDecision/notifyPeer``. Conformers may keep state (what was last seen),
/// hence `mutating`.
public protocol EventChannel {
    /// Signals the peer once.
    mutating func notify()

    /// Sleeps until the peer has notified since the last time this returned `true`, or until
    /// `timeout` passes.
    /// - Returns: `true` when a notification arrived, `false` on timeout.
    mutating func wait(timeout: Duration) -> Bool
}
