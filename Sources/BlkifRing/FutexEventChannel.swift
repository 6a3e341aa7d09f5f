// An event channel between two processes on Linux: a counter and a futex in shared memory.

import CBlkifSystem
import Synchronization

/// An ``EventChannel`` for two processes (or threads) on Linux that map the same memory: each
/// direction is a 32-bit counter the sender bumps and the receiver sleeps on with a shared futex.
///
/// The two counters live in a caller-provided 8-byte, 4-byte-aligned area: offset 0 carries
/// front-to-back events, offset 4 back-to-front. A C peer interoperates by doing the same
/// (`__atomic_fetch_add` then `FUTEX_WAKE`; `FUTEX_WAIT` on the other word).
/// Notifications coalesce: several notifies before one wait wake it once, as Xen's do.
public struct FutexEventChannel: EventChannel {
    /// Which end of the ring this channel serves.
    public enum Side: Sendable { case front, back }

    @usableFromInline let outgoing: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline let incoming: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline var seen: UInt32
    /// Notifications this end has sent.
    public private(set) var notificationsSent = 0

    /// Bytes of shared memory the two counters need.
    public static let byteCount = 8

    /// The channel for `side` over the counters at `words`, which both ends map.
    /// Zero the 8 bytes once, before either end starts.
    public init(words: UnsafeMutableRawPointer, side: Side) {
        precondition(Int(bitPattern: words) % 4 == 0, "event counters must be 4-byte aligned")
        let toBack = words.assumingMemoryBound(to: Atomic<UInt32>.self)
        let toFront = (words + 4).assumingMemoryBound(to: Atomic<UInt32>.self)
        (outgoing, incoming) = side == .front ? (toBack, toFront) : (toFront, toBack)
        seen = incoming.pointee.load(ordering: .acquiring)
    }

    /// Bumps the outgoing counter and wakes a peer sleeping on it (one system call).
    public mutating func notify() {
        notificationsSent += 1
        // the ring writes before this notify are visible to a peer that sees the new count
        outgoing.pointee.add(1, ordering: .releasing)
        _ = cfutex_wake(UnsafeMutableRawPointer(outgoing).assumingMemoryBound(to: UInt32.self), 1)
    }

    /// Sleeps on the incoming counter until it differs from the last value seen, or `timeout`.
    /// Any timeout is allowed: one too long for the clock (`.seconds(Int64.max)`, "forever")
    /// waits without a limit.
    public mutating func wait(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        let word = UnsafeMutableRawPointer(incoming).assumingMemoryBound(to: UInt32.self)
        while true {
            let current = incoming.pointee.load(ordering: .acquiring)
            if current != seen {
                seen = current
                return true
            }
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            _ = cfutex_wait(word, current, Self.nanoseconds(left))
        }
    }

    /// `duration` in whole nanoseconds for `cfutex_wait`, or -1 (no limit) when that many
    /// nanoseconds do not fit in 64 bits (about 292 years).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return -1 }
        let (total, sumOverflow) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return sumOverflow ? -1 : total
    }
}
