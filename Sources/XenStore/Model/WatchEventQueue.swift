import Foundation

/// The watch events of one connection or session, in arrival order.
///
/// Consume them either by blocking (`next(timeout:)`) or asynchronously (`stream()`); once a
/// stream is taken, buffered and future events go to it. `finish()` (connection closed) wakes
/// every waiter.
public final class WatchEventQueue: @unchecked Sendable {
    // Invariant: `condition` guards every stored property below.
    private let condition = NSCondition()
    private var buffered: [WatchEvent] = []
    private var head = 0
    private var continuation: AsyncStream<WatchEvent>.Continuation?
    private var finished = false

    /// Creates an empty queue.
    public init() {}

    /// Adds an event; ignored once the queue is finished.
    func push(_ event: WatchEvent) {
        condition.lock()
        defer { condition.unlock() }
        guard !finished else { return }
        if let continuation {
            continuation.yield(event)
        } else {
            buffered.append(event)
            condition.signal()
        }
    }

    /// Marks the end of events: waiters wake, a stream ends.
    func finish() {
        condition.lock()
        defer { condition.unlock() }
        finished = true
        continuation?.finish()
        condition.broadcast()
    }

    /// The oldest undelivered event, waiting up to `timeout`; nil on timeout or when finished.
    public func next(timeout: Duration) -> WatchEvent? {
        let (seconds, attoseconds) = timeout.components
        let deadline = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        while head == buffered.count, !finished, condition.wait(until: deadline) {}
        guard head < buffered.count else { return nil }
        let event = buffered[head]
        head += 1
        if head == buffered.count {
            buffered.removeAll(keepingCapacity: true)
            head = 0
        }
        return event
    }

    /// Every event buffered now, without waiting.
    public func drain() -> [WatchEvent] {
        condition.lock()
        defer { condition.unlock() }
        let events = Array(buffered[head...])
        buffered.removeAll()
        head = 0
        return events
    }

    /// An async sequence of the buffered and all future events; call it at most once.
    public func stream() -> AsyncStream<WatchEvent> {
        let (stream, continuation) = AsyncStream<WatchEvent>.makeStream()
        condition.lock()
        defer { condition.unlock() }
        for event in buffered[head...] { continuation.yield(event) }
        buffered.removeAll()
        head = 0
        if finished { continuation.finish() } else { self.continuation = continuation }
        return stream
    }
}
