// One scatter/gather element of a request: a granted page and the sectors of it to transfer.

/// A segment (`struct blkif_request_segment`): sectors `firstSector...lastSector` of the page
/// named by ``grant``.
///
/// Valid when `firstSector <= lastSector < 8` (a 4096-byte page holds eight 512-byte sectors);
/// decoding rejects any other value, and ``sectorCount`` is only meaningful for a valid segment.
@frozen
public struct Segment: Hashable, Sendable, CustomStringConvertible {
    /// The granted page.
    public var grant: GrantRef
    /// First sector of the page to transfer, inclusive.
    public var firstSector: UInt8
    /// Last sector of the page to transfer, inclusive.
    public var lastSector: UInt8

    /// A segment covering `firstSector...lastSector` of the page `grant`.
    @inlinable
    public init(grant: GrantRef, firstSector: UInt8 = 0, lastSector: UInt8 = Sector.perPage - 1) {
        self.grant = grant
        self.firstSector = firstSector
        self.lastSector = lastSector
    }

    /// Sectors transferred: `lastSector - firstSector + 1`.
    @inlinable public var sectorCount: Int { Int(lastSector) - Int(firstSector) + 1 }

    /// Whether the sector range lies inside one page and is not reversed.
    @inlinable public var isValid: Bool { firstSector <= lastSector && lastSector < Sector.perPage }

    /// `last | (last - first)`: below ``Sector/perPage`` exactly when the segment is valid (a
    /// reversed range wraps the subtraction high), so OR-ing it over many segments and comparing
    /// once validates them all.
    @inlinable @inline(__always)
    var defects: UInt32 {
        UInt32(lastSector) | (UInt32(lastSector) &- UInt32(firstSector))  // expected to wrap when first > last
    }

    /// ``defects`` of the two segments stored at `pointer`, from one 16-byte load, in the
    /// 16-bit lanes 2 and 6 (bytes 4–5 of each segment: `first_sect` and `last_sect`); the other
    /// lanes hold no meaning. A lane is wide enough: a reversed range wraps the difference of two
    /// bytes to at least 0xFF01.
    @inlinable @inline(__always)
    static func pairDefects(at pointer: UnsafeRawPointer) -> SIMD8<UInt16> {
        let lanes = pointer.loadUnaligned(as: SIMD8<UInt16>.self)
        #if _endian(little)
        let first = lanes & 0xFF, last = lanes &>> 8
        #else
        let first = lanes &>> 8, last = lanes & 0xFF
        #endif
        return last | (last &- first)  // expected to wrap when first > last
    }

    /// The 8 bytes of the segment as one little-endian word, padding zero.
    @inlinable
    var packed: UInt64 {
        UInt64(grant.rawValue) | UInt64(firstSector) << 32 | UInt64(lastSector) << 40
    }

    /// The segment whose 8 bytes are `word`.
    @inlinable
    init(packed word: UInt64) {
        self.init(
            grant: GrantRef(UInt32(truncatingIfNeeded: word)),
            firstSector: UInt8(truncatingIfNeeded: word >> 32),
            lastSector: UInt8(truncatingIfNeeded: word >> 40))
    }

    /// Loads the segment at `pointer`: one 8-byte read.
    @inlinable @inline(__always)
    init(at pointer: UnsafeRawPointer) {
        self.init(packed: pointer.loadLittleEndian(at: 0, as: UInt64.self))
    }

    /// Stores the segment at `pointer`, all 8 bytes, padding zeroed: one 8-byte write.
    @inlinable @inline(__always)
    func store(at pointer: UnsafeMutableRawPointer) {
        pointer.storeLittleEndian(packed, at: 0)
    }

    /// Equal when grant and sectors are: one compare of the packed words.
    @inlinable @inline(__always)
    public static func == (lhs: Segment, rhs: Segment) -> Bool { lhs.packed == rhs.packed }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(packed) }

    public var description: String { "\(grant) sectors \(firstSector)...\(lastSector)" }
}

/// The validated segments of a decoded request, read in place from the private copy they were
/// decoded from (no allocation).
///
/// The segments lie back to back: a request copied out of the ring keeps its header's segments
/// and its segment blocks' segments contiguous (``RingEntries/copyRequest(into:limits:)``), and an
/// indirect page holds them so. Valid only while the bytes it was decoded from are alive and
/// unchanged. Invariant: `base` addresses `count` segments of 8 bytes.
@frozen
public struct SegmentList: RandomAccessCollection {
    @usableFromInline let base: UnsafeRawPointer
    /// Number of segments.
    public let count: Int

    /// `count` segments stored back to back at `base`.
    @inlinable @inline(__always)
    init(contiguous base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    /// Always 0.
    @inlinable public var startIndex: Int { 0 }
    /// ``count``.
    @inlinable public var endIndex: Int { count }

    /// The segment at `index`; traps outside `0..<count`.
    @inlinable
    public subscript(index: Int) -> Segment {
        precondition(index >= 0 && index < count, "segment index out of range")
        // safe: decoding checked that `count` segments lie inside the copied bytes.
        return Segment(at: base + index &* BlkifLayout.segmentSize)
    }

    /// Walks the segments in order, one 8-byte load each.
    @frozen
    public struct Iterator: IteratorProtocol {
        @usableFromInline var cursor: UnsafeRawPointer
        @usableFromInline let end: UnsafeRawPointer

        @inlinable @inline(__always)
        init(_ list: SegmentList) {
            cursor = list.base
            end = list.base + list.count &* BlkifLayout.segmentSize
        }

        /// The next segment, or `nil` after the last.
        @inlinable @inline(__always)
        public mutating func next() -> Segment? {
            guard cursor < end else { return nil }
            let segment = Segment(at: cursor)  // safe: below end, inside the copied bytes
            cursor += BlkifLayout.segmentSize
            return segment
        }
    }

    /// An iterator over the segments, in order.
    @inlinable @inline(__always) public func makeIterator() -> Iterator { Iterator(self) }

    /// Sectors transferred by all segments together.
    @inlinable public var sectorCount: Int { reduce(0) { $0 + $1.sectorCount } }
}
