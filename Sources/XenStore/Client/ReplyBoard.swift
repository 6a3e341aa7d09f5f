import Foundation

/// Where a client's reader thread posts replies and callers wait for theirs, by req_id.
///
/// Invariant: `condition` guards every stored property; once `closed` is set, no reply
/// arrives any more and every waiter gives up.
final class ReplyBoard: @unchecked Sendable {
    private let condition = NSCondition()
    private var replies: [UInt32: WireMessage] = [:]
    private var waiting: Set<UInt32> = []
    private var nextRequestID: UInt32 = 1
    private var closedReason: String?

    /// Reserves a fresh req_id whose reply will be kept for `wait`.
    func reserve() -> UInt32 {
        condition.lock()
        defer { condition.unlock() }
        let id = nextRequestID
        nextRequestID = nextRequestID == UInt32.max ? 1 : nextRequestID + 1
        waiting.insert(id)
        return id
    }

    /// Posts a reply; replies nobody waits for are dropped.
    func post(_ reply: WireMessage) {
        condition.lock()
        defer { condition.unlock() }
        guard waiting.contains(reply.requestID) else { return }
        replies[reply.requestID] = reply
        condition.broadcast()
    }

    /// Marks the connection closed, waking every waiter.
    func close(reason: String) {
        condition.lock()
        defer { condition.unlock() }
        if closedReason == nil { closedReason = reason }
        condition.broadcast()
    }

    /// The reply to request `id`, waiting up to `timeout`.
    /// - Throws: `.connection` once the connection is closed, `.timedOut` when `timeout` passes.
    func wait(for id: UInt32, timeout: Duration) throws(XenStoreError) -> WireMessage {
        let (seconds, attoseconds) = timeout.components
        let deadline = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
        condition.lock()
        defer {
            waiting.remove(id)
            condition.unlock()
        }
        while replies[id] == nil, closedReason == nil, condition.wait(until: deadline) {}
        if let reply = replies.removeValue(forKey: id) { return reply }
        if let closedReason { throw .connection(closedReason) }
        throw .timedOut(after: timeout)
    }
}
