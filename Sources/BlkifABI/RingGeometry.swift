// How many entries a shared ring of N pages holds, and how many entries a request takes.

/// The shape of a shared ring: its pages and the number of entries they hold in one ABI.
///
/// Invariants: ``pageCount`` is a power of two from 1 to ``maximumPageCount``;
/// ``entryCount`` is a power of two, so the slot of a free-running index is `index & (entryCount - 1)`.
public struct RingGeometry: Hashable, Sendable, CustomStringConvertible {
    /// Bytes in one page of ring memory.
    @inlinable public static var pageSize: Int { 4096 }
    /// Bytes of the shared header (four indexes, private and padding) before the first entry.
    @inlinable public static var headerSize: Int { 64 }
    /// Largest page order this package maps: 4, that is 16 pages (Linux's
    /// `XENBUS_MAX_RING_GRANT_ORDER`, the most any current backend advertises).
    @inlinable public static var maximumPageOrder: Int { 4 }
    /// Largest ring, in pages.
    public static var maximumPageCount: Int { 1 << maximumPageOrder }

    /// log2 of the number of pages (the `ring-page-order` XenStore node).
    public let pageOrder: Int
    /// The ABI whose entry size fixes the entry count.
    public let abi: ABI

    /// A ring of `2^pageOrder` pages.
    /// - Throws: ``GeometryError/pageOrderOutOfRange(_:)`` unless `0...maximumPageOrder`.
    public init(pageOrder: Int, abi: ABI) throws(GeometryError) {
        guard (0...Self.maximumPageOrder).contains(pageOrder) else { throw .pageOrderOutOfRange(pageOrder) }
        self.pageOrder = pageOrder
        self.abi = abi
    }

    /// A ring of `pageCount` pages (the `ring-pages` XenStore node).
    /// - Throws: ``GeometryError/pageCountNotPowerOfTwo(_:)`` or
    ///   ``GeometryError/pageOrderOutOfRange(_:)``.
    public init(pageCount: Int, abi: ABI) throws(GeometryError) {
        guard pageCount > 0, pageCount & (pageCount - 1) == 0 else { throw .pageCountNotPowerOfTwo(pageCount) }
        try self.init(pageOrder: pageCount.trailingZeroBitCount, abi: abi)
    }

    /// Number of pages.
    public var pageCount: Int { 1 << pageOrder }
    /// Bytes of shared memory the ring occupies.
    public var byteCount: Int { pageCount * Self.pageSize }
    /// Entries in the ring: `__CONST_RING_SIZE(blkif, byteCount)`.
    public var entryCount: Int { Self.entryCount(ringBytes: byteCount, entrySize: abi.layout.entrySize) }
    /// The most requests that can be outstanding at once: `BLKIF_MAX_RING_REQUESTS(byteCount)`,
    /// the default of the `max-requests` node.
    public var maximumRequests: Int { entryCount }

    /// `__CONST_RING_SIZE`: the largest power of two not above
    /// `(ringBytes - headerSize) / entrySize`, or 0 when not even one entry fits.
    public static func entryCount(ringBytes: Int, entrySize: Int) -> Int {
        precondition(entrySize > 0, "entry size must be positive")
        let fitting = (ringBytes - headerSize) / entrySize
        guard fitting > 0 else { return 0 }
        return 1 << (Int.bitWidth - 1 - fitting.leadingZeroBitCount)
    }

    public var description: String { "\(pageCount)-page \(abi) ring of \(entryCount) entries" }
}

/// Why a ring geometry was refused.
public enum GeometryError: Error, Hashable, CustomStringConvertible {
    /// The page order is negative or above ``RingGeometry/maximumPageOrder``.
    case pageOrderOutOfRange(Int)
    /// The page count is not a positive power of two.
    case pageCountNotPowerOfTwo(Int)

    public var description: String {
        switch self {
        case .pageOrderOutOfRange(let order):
            "ring page order \(order) is outside 0...\(RingGeometry.maximumPageOrder)"
        case .pageCountNotPowerOfTwo(let count):
            "ring page count \(count) is not a power of two"
        }
    }
}

extension ABI {
    /// Segments in a request's own entry: 11 (`BLKIF_MAX_SEGMENTS_PER_HEADER_BLOCK`).
    @inlinable public static var segmentsPerHeader: Int { 11 }
    /// Most segments a request can carry through segment blocks (the seed's
    /// `BLKIF_MAX_SEGMENTS_PER_REQUEST`, which `nr_segments` being a byte also bounds).
    @inlinable public static var maximumBlockSegments: Int { 255 }

    /// Ring entries a request of `segmentCount` segments occupies: the seed's
    /// `BLKIF_SEGS_TO_BLOCKS`, made ABI-aware.
    ///
    /// One header entry holds 11 segments; each further entry (a segment block) holds
    /// ``BlkifLayout/segmentsPerBlock``: 14 on x86_64, 13 on x86_32. A response to such a
    /// request occupies the same number of entries.
    @inlinable @inline(__always)
    public func entriesForSegments(_ segmentCount: Int) -> Int {
        guard segmentCount > ABI.segmentsPerHeader else { return 1 }
        let perBlock = layout.segmentsPerBlock
        return 1 + (segmentCount - ABI.segmentsPerHeader + perBlock - 1) / perBlock
    }
}
