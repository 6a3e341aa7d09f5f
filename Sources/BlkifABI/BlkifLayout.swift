// One description per ABI of where every blkif field sits, read by all views.

/// Offsets and sizes, in bytes, of every blkif structure in one ABI.
///
/// The values are those of Xen's `<xen/io/blkif.h>` compiled for the ABI (measured with
/// `offsetof`/`sizeof`, and checked against the C compiler by the interop tests). All views read
/// their offsets from here, so the ABIs are data, not copies of code.
///
/// Invariants: every structure fits in ``entrySize``; a segment is 8 bytes wherever it sits.
@frozen
public struct BlkifLayout: Sendable, Hashable {
    /// Size of one ring entry: the union of a request and a response.
    public let entrySize: Int
    /// `sizeof(struct blkif_request)`.
    public let requestSize: Int
    /// Offset of `id` in a request and in a discard request.
    public let requestID: Int
    /// Offset of `sector_number` in a request and in a discard request.
    public let requestSector: Int
    /// Offset of `seg[0]` in a request.
    public let requestSegments: Int
    /// Offset of `nr_sectors` in a discard request.
    public let discardSectorCount: Int
    /// `sizeof(struct blkif_request_discard)`.
    public let discardSize: Int
    /// Offset of `id` in an indirect request.
    public let indirectID: Int
    /// Offset of `sector_number` in an indirect request.
    public let indirectSector: Int
    /// Offset of `handle` in an indirect request.
    public let indirectHandle: Int
    /// Offset of `indirect_grefs[0]` in an indirect request.
    public let indirectGrants: Int
    /// `sizeof(struct blkif_request_indirect)`.
    public let indirectSize: Int
    /// `sizeof(struct blkif_response)`.
    public let responseSize: Int

    /// Offset of `operation` in every request layout (always 0).
    @inlinable public static var operationOffset: Int { 0 }
    /// Offset of `nr_segments` in a request, of `flag` in a discard, of `indirect_op` in an
    /// indirect request (always 1).
    @inlinable public static var secondByteOffset: Int { 1 }
    /// Offset of `handle` in a request and a discard request, of the 16-bit `nr_segments`
    /// in an indirect request (always 2).
    @inlinable public static var handleOffset: Int { 2 }
    /// `sizeof(struct blkif_request_segment)`: gref (4), first_sect (1), last_sect (1), pad (2).
    @inlinable public static var segmentSize: Int { 8 }
    /// Offset of `first_sect` in a segment.
    @inlinable public static var segmentFirstSector: Int { 4 }
    /// Offset of `last_sect` in a segment.
    @inlinable public static var segmentLastSector: Int { 5 }
    /// Offset of `id` in a response (both ABIs).
    @inlinable public static var responseID: Int { 0 }
    /// Offset of `operation` in a response (both ABIs).
    @inlinable public static var responseOperation: Int { 8 }
    /// Offset of `status` in a response (both ABIs).
    @inlinable public static var responseStatus: Int { 10 }

    /// Segments held by one segment block (the seed's extension): as many whole 8-byte segments
    /// as fit in one ring entry.
    ///
    /// 14 on x86_64 (112 bytes, the seed's `BLKIF_MAX_SEGMENTS_PER_SEGMENT_BLOCK`), but 13 on
    /// x86_32, whose 108-byte entry cannot hold the seed's 112-byte block: a 14th segment would
    /// straddle the next slot, and at the end of the ring fall outside the ring entirely. We never
    /// read or write outside an entry, so on x86_32 a block holds 13.
    @inlinable
    public var segmentsPerBlock: Int { entrySize / Self.segmentSize }

    /// Bytes of a private copy of a request that spans `entries` ring entries: the header entry
    /// whole, then only the segments of each segment block (``segmentsPerBlock`` × 8 bytes), so
    /// that all its segments lie back to back after `seg[0]`.
    ///
    /// On x86_64 this is exactly `entries` entries (a block is 14 whole segments); on x86_32
    /// each block's last 4 bytes, which hold no segment, are left out.
    @inlinable @inline(__always)
    public func copySize(entries: Int) -> Int {
        entrySize &+ (entries &- 1) &* segmentsPerBlock &* Self.segmentSize
    }

    /// Layout of the x86_64 ABI (native on 64-bit hosts).
    @inlinable @inline(__always)
    public static var x86_64: BlkifLayout {
        BlkifLayout(
            entrySize: 112, requestSize: 112, requestID: 8, requestSector: 16, requestSegments: 24,
            discardSectorCount: 24, discardSize: 32,
            indirectID: 8, indirectSector: 16, indirectHandle: 24, indirectGrants: 28, indirectSize: 64,
            responseSize: 16)
    }

    /// Layout of the x86_32 ABI: 64-bit fields 4-byte aligned.
    @inlinable @inline(__always)
    public static var x86_32: BlkifLayout {
        BlkifLayout(
            entrySize: 108, requestSize: 108, requestID: 4, requestSector: 12, requestSegments: 20,
            discardSectorCount: 20, discardSize: 28,
            indirectID: 4, indirectSector: 12, indirectHandle: 20, indirectGrants: 24, indirectSize: 64,
            responseSize: 12)
    }

    @inlinable @inline(__always)
    init(
        entrySize: Int, requestSize: Int, requestID: Int, requestSector: Int, requestSegments: Int,
        discardSectorCount: Int, discardSize: Int,
        indirectID: Int, indirectSector: Int, indirectHandle: Int, indirectGrants: Int, indirectSize: Int,
        responseSize: Int
    ) {
        self.entrySize = entrySize
        self.requestSize = requestSize
        self.requestID = requestID
        self.requestSector = requestSector
        self.requestSegments = requestSegments
        self.discardSectorCount = discardSectorCount
        self.discardSize = discardSize
        self.indirectID = indirectID
        self.indirectSector = indirectSector
        self.indirectHandle = indirectHandle
        self.indirectGrants = indirectGrants
        self.indirectSize = indirectSize
        self.responseSize = responseSize
    }
}
