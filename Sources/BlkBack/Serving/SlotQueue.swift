// Fixed-capacity lists of slot numbers: the free slots and the slots ready for an I/O thread.

/// A first-in first-out queue of at most `capacity` slot numbers, allocated once.
struct SlotQueue {
    private var storage: [Int]
    private var head = 0
    private(set) var count = 0

    /// An empty queue, or one holding `0..<capacity` when `full`.
    init(capacity: Int, full: Bool) {
        storage = Array(0..<max(capacity, 1))
        count = full ? storage.count : 0
    }

    /// Appends `slot`; the queue never holds more than its capacity (each slot is in one list).
    mutating func push(_ slot: Int) {
        precondition(count < storage.count, "a slot was queued twice")
        storage[(head + count) % storage.count] = slot
        count += 1
    }

    /// The oldest slot, or nil.
    mutating func pop() -> Int? {
        guard count > 0 else { return nil }
        let slot = storage[head]
        head = (head + 1) % storage.count
        count -= 1
        return slot
    }
}
