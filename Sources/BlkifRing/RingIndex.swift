// Free-running ring indexes and their wrapping arithmetic.

import Synchronization

/// A free-running 32-bit ring index (`RING_IDX`): counts entries ever produced or consumed.
///
/// Indexes only grow, wrapping from 2^32 - 1 to 0; the slot of an index is
/// `index & (entryCount - 1)`. Differences are taken modulo 2^32, so `b.distance(from: a)`
/// is the number of entries from `a` to `b` even across the wrap.
@frozen
public struct RingIndex: RawRepresentable, Hashable, Sendable, AtomicRepresentable, CustomStringConvertible {
    /// The index as stored in the shared header.
    public var rawValue: UInt32
    /// Wraps a raw index.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Wraps a raw index.
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// The index `count` entries later, wrapping.
    @inlinable
    public func advanced(by count: UInt32) -> RingIndex { RingIndex(rawValue &+ count) }  // expected to wrap

    /// Entries from `earlier` to `self`, modulo 2^32.
    @inlinable
    public func distance(from earlier: RingIndex) -> UInt32 { rawValue &- earlier.rawValue }  // expected to wrap

    public var description: String { "\(rawValue)" }
}

/// What a producer must do after publishing: wake the peer, or not (it will look anyway).
public enum NotifyDecision: Hashable, Sendable {
    /// The peer asked to be woken at or before one of the entries just published.
    case notifyPeer
    /// The peer is still working through the ring; no event is needed.
    case noNotification
}
