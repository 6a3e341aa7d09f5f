import Synchronization

/// Watch events waiting to be written to one connection; filled by store sinks on any thread.
///
/// Bounded, as xenstored bounds what it queues for a domain: an event that would take the
/// outbox over `capacity` bytes is dropped (xenstored drops events past a domain's memory
/// quota) rather than growing the server or disconnecting the client. Only a client that lets
/// that many events pile up unread loses any.
final class EventOutbox: Sendable {
    /// Most bytes of events (as their wire payloads) kept for one connection.
    static let capacity = 256 << 10

    private struct Pending {
        var events: [WatchEvent] = []
        var byteCount = 0
    }

    private let pending = Mutex(Pending())

    /// Queues `event`; false if it was dropped.
    func push(_ event: WatchEvent) -> Bool {
        let size = event.path.utf8.count + event.token.bytes.count + 2
        return pending.withLock { pending in
            guard pending.byteCount + size <= Self.capacity else { return false }
            pending.events.append(event)
            pending.byteCount += size
            return true
        }
    }

    /// Every queued event, oldest first; the outbox is left empty.
    func take() -> [WatchEvent] {
        pending.withLock { pending in
            defer { pending = Pending() }
            return pending.events
        }
    }
}
