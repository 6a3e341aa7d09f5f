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

    public var description: String { "\(grant) sectors \(firstSector)...\(lastSector)" }
}

/// The validated segments of a decoded request, read in place from the private copy they were
/// decoded from (no allocation).
///
/// The first segments sit in the request's header entry, the rest in the segment blocks that
/// follow it (or, for an indirect request, contiguously in the copied indirect pages).
/// Valid only while the bytes it was decoded from are alive and unchanged.
@frozen
public struct SegmentList: RandomAccessCollection {
    @usableFromInline let base: UnsafeRawPointer
    /// Size of a ring entry, or 0 when the segments are contiguous (indirect pages).
    @usableFromInline let entrySize: Int
    /// Number of segments.
    public let count: Int

    /// Segments laid out as a request entry followed by segment blocks, in one ABI.
    @inlinable @inline(__always)
    init(entries base: UnsafeRawPointer, count: Int, abi: ABI) {
        self.base = base
        self.count = count
        self.entrySize = abi.layout.entrySize
    }

    /// Segments stored back to back, as in an indirect page.
    @inlinable
    init(contiguous base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
        self.entrySize = 0
    }

    /// Offset of `seg[0]` in the first entry: 24 on x86_64, 20 on x86_32, 0 when contiguous.
    /// A request entry ends with its 11 segments, so `seg[0]` is 88 bytes before its end.
    @inlinable @inline(__always)
    var headerOffset: Int {
        entrySize == 0 ? 0 : entrySize - ABI.segmentsPerHeader * BlkifLayout.segmentSize
    }

    /// Segments before the first segment block: 11, or all of them when contiguous.
    @inlinable @inline(__always)
    var headerCapacity: Int { entrySize == 0 ? count : ABI.segmentsPerHeader }

    /// Segments per segment block.
    @inlinable @inline(__always)
    var perBlock: Int { entrySize / BlkifLayout.segmentSize }

    /// Always 0.
    @inlinable public var startIndex: Int { 0 }
    /// ``count``.
    @inlinable public var endIndex: Int { count }

    /// Byte offset of segment `index` from the first entry.
    @inlinable
    func offset(of index: Int) -> Int {
        if index < headerCapacity { return headerOffset + index * BlkifLayout.segmentSize }
        let (block, slot) = (index - headerCapacity).quotientAndRemainder(dividingBy: perBlock)
        return (block + 1) * entrySize + slot * BlkifLayout.segmentSize
    }

    /// The segment at `index`; traps outside `0..<count`.
    @inlinable
    public subscript(index: Int) -> Segment {
        precondition(index >= 0 && index < count, "segment index out of range")
        // safe: decoding checked that every segment of `count` lies inside the copied bytes.
        return Segment(at: base + offset(of: index))
    }

    /// Walks the segments in order without dividing: the offset steps by one segment, and jumps
    /// to the next segment block when a block (or the header) is full.
    @frozen
    public struct Iterator: IteratorProtocol {
        @usableFromInline let list: SegmentList
        @usableFromInline var index = 0
        @usableFromInline var offset: Int
        @usableFromInline var leftInBlock: Int
        @usableFromInline var blockStart = 0

        @inlinable
        init(_ list: SegmentList) {
            self.list = list
            offset = list.headerOffset
            leftInBlock = list.headerCapacity
        }

        /// The next segment, or `nil` after the last.
        @inlinable @inline(__always)
        public mutating func next() -> Segment? {
            guard index < list.count else { return nil }
            if leftInBlock == 0 {
                blockStart &+= list.entrySize  // safe: at most 20 entries of 112 bytes
                offset = blockStart
                leftInBlock = list.perBlock
            }
            // safe: decoding checked that every segment of `count` lies inside the copied bytes.
            let segment = Segment(at: list.base + offset)
            index &+= 1  // safe: below count
            offset &+= BlkifLayout.segmentSize
            leftInBlock &-= 1  // safe: positive here
            return segment
        }
    }

    /// An iterator over the segments, in order.
    @inlinable public func makeIterator() -> Iterator { Iterator(self) }

    /// Sectors transferred by all segments together.
    @inlinable public var sectorCount: Int { reduce(0) { $0 + $1.sectorCount } }
}
