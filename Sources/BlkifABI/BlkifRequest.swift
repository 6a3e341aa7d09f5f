// Typed requests, decoded and validated from a private copy of what the peer wrote.

import CBlkifSystem

/// What the two sides negotiated that bounds a valid request.
///
/// Invariants: `maximumSegments` in `11...255`; `maximumIndirectSegments` in `0...4096`
/// (0: indirect descriptors not negotiated).
public struct RequestLimits: Hashable, Sendable {
    /// Most segments of a read/write request (`max-request-segments`): 11 without segment
    /// blocks, up to 255 with them.
    public var maximumSegments: Int
    /// Most segments of an indirect request (`feature-max-indirect-segments`), 0 if none.
    public var maximumIndirectSegments: Int
    /// Size of the disk in 512-byte sectors, or `nil` to leave range checks to the caller.
    public var capacity: Sector? {
        get { sectorLimit == .max ? nil : Sector(sectorLimit) }
        set { sectorLimit = newValue?.rawValue ?? .max }
    }
    /// The sector no transfer may pass: the capacity, or `UInt64.max` when it is unknown (a disk
    /// of 2^64 − 1 sectors and an unknown size check the same).
    @usableFromInline private(set) var sectorLimit: UInt64 {
        didSet { exactRangeThreshold = Self.exactRangeThreshold(sectorLimit: sectorLimit) }
    }
    /// The first sector from which a transfer's range is checked exactly: any transfer that
    /// starts below it ends within ``sectorLimit`` however many segments it has (at most
    /// ``indirectSegmentCeiling``, 8 sectors each), so decoding checks its range with one compare.
    /// 0 (every range checked exactly) when the disk is smaller than the largest transfer.
    @usableFromInline private(set) var exactRangeThreshold: UInt64

    /// ``exactRangeThreshold`` for a `sectorLimit`.
    static func exactRangeThreshold(sectorLimit: UInt64) -> UInt64 {
        let largest = UInt64(indirectSegmentCeiling) * UInt64(Sector.perPage)
        return sectorLimit >= largest ? sectorLimit - largest + 1 : 0
    }

    /// Most segments an indirect request can name: 8 pages of 512.
    public static let indirectSegmentCeiling = IndirectRequestView.grantCapacity * IndirectRequestView.segmentsPerPage

    /// Limits of a connection; traps on values outside the invariants (a local bug).
    public init(maximumSegments: Int = ABI.segmentsPerHeader, maximumIndirectSegments: Int = 0, capacity: Sector? = nil) {
        precondition((ABI.segmentsPerHeader...ABI.maximumBlockSegments).contains(maximumSegments), "maximumSegments outside 11...255")
        precondition((0...Self.indirectSegmentCeiling).contains(maximumIndirectSegments), "maximumIndirectSegments outside 0...4096")
        self.maximumSegments = maximumSegments
        self.maximumIndirectSegments = maximumIndirectSegments
        let sectorLimit = capacity?.rawValue ?? .max
        self.sectorLimit = sectorLimit
        self.exactRangeThreshold = Self.exactRangeThreshold(sectorLimit: sectorLimit)
    }
}

/// A validated request, decoded from a private copy of its ring entries.
///
/// Segment lists point into that copy: a decoded request is valid while the copy is.
public enum BlkifRequest {
    /// `BLKIF_OP_READ`: 1 or more segments.
    case read(Transfer)
    /// `BLKIF_OP_WRITE`: 1 or more segments.
    case write(Transfer)
    /// `BLKIF_OP_WRITE_BARRIER`: 0 or more segments.
    case writeBarrier(Transfer)
    /// `BLKIF_OP_FLUSH_DISKCACHE`: 0 or more segments.
    case flushDiskCache(Transfer)
    /// `BLKIF_OP_DISCARD`.
    case discard(Discard)
    /// `BLKIF_OP_INDIRECT`: segments in granted pages.
    case indirect(IndirectTransfer)

    /// The request's id, to echo in its response.
    public var id: RequestID {
        switch self {
        case .read(let t), .write(let t), .writeBarrier(let t), .flushDiskCache(let t): t.id
        case .discard(let d): d.id
        case .indirect(let i): i.id
        }
    }

    /// The operation to echo in the request's response: the ring operation, except for an
    /// indirect request, whose response carries the read or write it carried (`indirect_op`),
    /// as Linux's blkback answers and its blkfront checks.
    public var operation: Operation {
        switch self {
        case .read: .read
        case .write: .write
        case .writeBarrier: .writeBarrier
        case .flushDiskCache: .flushDiskCache
        case .discard: .discard
        case .indirect(let i): i.operation
        }
    }
}

/// A transfer between the disk and the frontend's granted pages.
@frozen
public struct Transfer {
    /// The frontend's tag.
    public let id: RequestID
    /// The virtual device.
    public let handle: DeviceHandle
    /// First disk sector.
    public let sector: Sector
    /// The pages and sectors, validated: each `first <= last < 8`.
    public let segments: SegmentList

    @inlinable
    init(id: RequestID, handle: DeviceHandle, sector: Sector, segments: SegmentList) {
        self.id = id
        self.handle = handle
        self.sector = sector
        self.segments = segments
    }
}

/// A discard of a sector range.
@frozen
public struct Discard {
    /// The frontend's tag.
    public let id: RequestID
    /// The virtual device.
    public let handle: DeviceHandle
    /// First sector to discard.
    public let sector: Sector
    /// Sectors to discard, at least 1.
    public let sectorCount: UInt64
    /// ``DiscardFlags/secure`` or none (unknown bits kept).
    public let flags: DiscardFlags

    @inlinable
    init(id: RequestID, handle: DeviceHandle, sector: Sector, sectorCount: UInt64, flags: DiscardFlags) {
        self.id = id
        self.handle = handle
        self.sector = sector
        self.sectorCount = sectorCount
        self.flags = flags
    }
}

/// A read or write whose segments sit in up to 8 granted indirect pages.
public struct IndirectTransfer {
    /// The frontend's tag.
    public let id: RequestID
    /// The virtual device.
    public let handle: DeviceHandle
    /// First disk sector.
    public let sector: Sector
    /// ``Operation/read`` or ``Operation/write``.
    public let operation: Operation
    /// Segments in the indirect pages, `1...maximumIndirectSegments`.
    public let segmentCount: Int
    /// `indirect_grefs`: the first ``pageCount`` name the indirect pages.
    public let pageGrants: InlineArray<8, GrantRef>
    /// The limits the request was decoded against, checked again with the segments.
    let limits: RequestLimits

    /// Indirect pages in use: `ceil(segmentCount / 512)`.
    public var pageCount: Int {
        (segmentCount + IndirectRequestView.segmentsPerPage - 1) / IndirectRequestView.segmentsPerPage
    }

    /// Bytes of the segments in the indirect pages: ``segmentCount`` × 8.
    public var segmentBytes: Int { segmentCount * BlkifLayout.segmentSize }

    /// Copies the segments out of the indirect pages, mapped in order, into the private buffer
    /// `copy`, each byte read once, then validates the copy: its segments and the transfer's
    /// sector range against the disk size the request was decoded with.
    ///
    /// The pages are granted memory the frontend can still write while this runs, so they are
    /// never read twice: what is validated and returned is the copy, and the returned list
    /// points into it (valid while `copy` is).
    /// - Parameters:
    ///   - pages: the mapped indirect pages (shared memory; read once).
    ///   - copy: private memory of at least ``segmentBytes`` bytes.
    /// - Throws: ``RequestError`` (with the inner ``operation``) if the pages or the copy are
    ///   shorter than ``segmentBytes``, a segment is malformed, or the transfer runs past the
    ///   end of the disk.
    public func segments(copying pages: UnsafeRawBufferPointer, into copy: UnsafeMutableRawBufferPointer) throws(RequestError) -> SegmentList {
        let needed = segmentBytes
        guard let source = pages.baseAddress, pages.count >= needed else {
            throw RequestError(id: id, operation: operation, reason: .truncated(needed: needed, available: pages.count))
        }
        guard let base = copy.baseAddress, copy.count >= needed else {
            throw RequestError(id: id, operation: operation, reason: .truncated(needed: needed, available: copy.count))
        }
        base.copyMemory(from: source, byteCount: needed)
        cblkif_compiler_barrier()  // later reads use the copy, never the pages
        try BlkifRequest.validate(segmentsAt: base, count: segmentCount, id: id, operation: operation, sector: sector, limits: limits)
        return SegmentList(contiguous: base, count: segmentCount)
    }
}
