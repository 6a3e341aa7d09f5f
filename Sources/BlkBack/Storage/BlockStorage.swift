// The one interface between the ring code and whatever holds the disk's bytes.

import Glibc

/// Where a served disk's bytes live: a regular file, a block device, or any later store.
///
/// The ring code calls only these five operations, so a new store (a network block device, a
/// RAM disk) plugs in without touching it. Calls come from several I/O threads at once:
/// conformers must allow concurrent reads and writes of distinct ranges.
///
/// Invariant: ``byteCount`` is fixed while the disk is served and a multiple of 512.
public protocol BlockStorage: AnyObject, Sendable {
    /// The disk's size in bytes.
    var byteCount: UInt64 { get }
    /// Whether writes, discards and flushes are refused (the backend answers them with an error).
    var isReadOnly: Bool { get }
    /// What a discard can do here, or nil when this store cannot discard.
    var discardSupport: StorageDiscard? { get }
    /// Fills `vectors` from the disk starting at byte `offset`, completely.
    func read(into vectors: IOVectors, at offset: UInt64) throws(StorageError)
    /// Writes `vectors` to the disk starting at byte `offset`, completely.
    func write(from vectors: IOVectors, at offset: UInt64) throws(StorageError)
    /// Makes every completed write durable (`fdatasync`).
    func flush() throws(StorageError)
    /// Discards `range` (bytes): its contents become undefined; with `secure`, they read back as
    /// zeros and that is durable before this returns.
    func discard(_ range: Range<UInt64>, secure: Bool) throws(StorageError)
}

/// How a store discards: the extent size and where extents start.
public struct StorageDiscard: Hashable, Sendable {
    /// Bytes of one discardable extent (a power of two, at least 512).
    public var granularity: UInt32
    /// Bytes from the disk's start to the first extent boundary (below ``granularity``).
    public var alignment: UInt32
    /// Whether secure discard (zeros, durable) is honoured.
    public var secure: Bool

    /// A discard description.
    public init(granularity: UInt32, alignment: UInt32 = 0, secure: Bool) {
        self.granularity = granularity
        self.alignment = alignment
        self.secure = secure
    }

    /// The whole extents inside `range`: what an unaligned discard may really release.
    public func extents(inside range: Range<UInt64>) -> Range<UInt64> {
        let size = UInt64(granularity), shift = UInt64(alignment)
        guard range.lowerBound >= shift else { return extents(inside: shift..<max(shift, range.upperBound)) }
        let start = (range.lowerBound - shift + size - 1) / size * size + shift
        let end = (range.upperBound - shift) / size * size + shift
        return start < end ? start..<end : start..<start
    }
}

/// A list of memory pieces for one vectored transfer (`struct iovec` array), in disk order.
///
/// Points at memory the caller owns (granted pages and a per-request array); valid during the call.
public struct IOVectors {
    /// The pieces, in the order their bytes sit on the disk.
    public let vectors: UnsafeMutableBufferPointer<iovec>

    /// Wraps `vectors`.
    public init(_ vectors: UnsafeMutableBufferPointer<iovec>) { self.vectors = vectors }

    /// Bytes in all pieces.
    public var byteCount: Int { vectors.reduce(0) { $0 + $1.iov_len } }
}
