import Synchronization

/// The thread-safe heart shared by `InMemoryXenStore` sessions and `XenStoreServer`
/// connections: one `StoreState` and the watch-event sink of every open session, under one lock.
///
/// Events are handed to sinks while the lock is held, so every session sees changes in the
/// order they were applied; sinks must therefore only enqueue and never call back into the store.
final class StoreCore: Sendable {
    /// Receives the watch events of one session.
    typealias Sink = @Sendable (WatchEvent) -> Void

    private struct Guarded: ~Copyable {
        var state: StoreState
        var sinks: [SessionID: Sink] = [:]
        var nextSession: UInt64 = 1
    }

    private let guarded: Mutex<Guarded>

    /// An empty tree whose unprivileged sessions are held to `quotas`.
    init(quotas: XenStoreQuotas) { guarded = Mutex(Guarded(state: StoreState(quotas: quotas))) }

    /// Opens a session whose watch events go to `sink`.
    func openSession(sink: @escaping Sink) -> SessionID {
        guarded.withLock { guarded in
            let id = SessionID(rawValue: guarded.nextSession)
            guarded.nextSession += 1
            guarded.sinks[id] = sink
            return id
        }
    }

    /// Closes a session: its watches are removed and its open transactions aborted.
    func closeSession(_ id: SessionID) {
        guarded.withLock { guarded in
            guarded.state.forget(id)
            guarded.sinks[id] = nil
        }
    }

    /// Fires the store-invented event `special` (`@introduceDomain`, `@releaseDomain`).
    func announce(_ special: String) {
        perform { state in ((), state.specialEvent(special)) }
    }

    /// Runs `body` on the state under the lock and delivers the events it produced.
    func perform<R: Sendable, E: Error>(_ body: (inout StoreState) throws(E) -> (R, [Delivery])) throws(E) -> R {
        try guarded.withLock { (guarded: inout Guarded) throws(E) -> R in
            let (result, deliveries) = try body(&guarded.state)
            for delivery in deliveries { guarded.sinks[delivery.session]?(delivery.event) }
            return result
        }
    }
}
