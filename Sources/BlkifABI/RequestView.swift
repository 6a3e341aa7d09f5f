// Zero-copy views of a request entry and of a segment block, in place in ring memory.

/// A read/write view of one `struct blkif_request` in place, in any ABI.
///
/// Holds only the entry's address and the ABI: no allocation, no copy. Every access reads or
/// writes ring memory directly, so a backend must not use it on shared memory to decide
/// anything: copy the request out first (see ``BlkifRequest/decode(_:abi:limits:)``).
/// Invariant: `pointer` addresses at least ``BlkifLayout/requestSize`` bytes.
@frozen
public struct RequestView {
    /// Address of the entry.
    public let pointer: UnsafeMutableRawPointer
    /// The ABI fixing the field offsets.
    public let abi: ABI

    /// A view of the request at `pointer`.
    @inlinable
    public init(_ pointer: UnsafeMutableRawPointer, abi: ABI) {
        self.pointer = pointer
        self.abi = abi
    }

    /// `operation`.
    @inlinable public var operation: Operation {
        get { Operation(rawValue: pointer.loadLittleEndian(at: BlkifLayout.operationOffset, as: UInt8.self)) }
        nonmutating set { pointer.storeLittleEndian(newValue.rawValue, at: BlkifLayout.operationOffset) }
    }

    /// `nr_segments`: segments in this request, including those in following segment blocks.
    @inlinable public var segmentCount: UInt8 {
        get { pointer.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self) }
        nonmutating set { pointer.storeLittleEndian(newValue, at: BlkifLayout.secondByteOffset) }
    }

    /// `handle`.
    @inlinable public var handle: DeviceHandle {
        get { DeviceHandle(pointer.loadLittleEndian(at: BlkifLayout.handleOffset, as: UInt16.self)) }
        nonmutating set { pointer.storeLittleEndian(newValue.rawValue, at: BlkifLayout.handleOffset) }
    }

    /// `id`.
    @inlinable public var id: RequestID {
        get { RequestID(pointer.loadLittleEndian(at: abi.layout.requestID, as: UInt64.self)) }
        nonmutating set { pointer.storeLittleEndian(newValue.rawValue, at: abi.layout.requestID) }
    }

    /// `sector_number`.
    @inlinable public var sector: Sector {
        get { Sector(pointer.loadLittleEndian(at: abi.layout.requestSector, as: UInt64.self)) }
        nonmutating set { pointer.storeLittleEndian(newValue.rawValue, at: abi.layout.requestSector) }
    }

    /// `seg[index]`, for `index` in `0..<11`; traps outside.
    @inlinable
    public func segment(_ index: Int) -> Segment {
        precondition(index >= 0 && index < ABI.segmentsPerHeader, "header segment index out of range")
        return Segment(at: pointer + abi.layout.requestSegments + index * BlkifLayout.segmentSize)
    }

    /// Writes `seg[index]` (all 8 bytes), for `index` in `0..<11`; traps outside.
    @inlinable @inline(__always)
    public func setSegment(_ index: Int, to segment: Segment) {
        precondition(index >= 0 && index < ABI.segmentsPerHeader, "header segment index out of range")
        segment.store(at: pointer + abi.layout.requestSegments + index * BlkifLayout.segmentSize)
    }

    /// Writes every header field at once, padding included (the bytes before `seg[0]`).
    @inlinable @inline(__always)
    public func writeHeader(operation: Operation, segmentCount: UInt8, handle: DeviceHandle, id: RequestID, sector: Sector) {
        let layout = abi.layout
        let first = UInt32(operation.rawValue) | UInt32(segmentCount) << 8 | UInt32(handle.rawValue) << 16
        if layout.requestID == 8 {
            pointer.storeLittleEndian(UInt64(first), at: 0)  // bytes 4...7 are padding on x86_64
        } else {
            pointer.storeLittleEndian(first, at: 0)
        }
        pointer.storeLittleEndian(id.rawValue, at: layout.requestID)
        pointer.storeLittleEndian(sector.rawValue, at: layout.requestSector)
    }
}

/// A read/write view of one segment block in place: a ring entry holding only segments
/// (the seed's `struct blkif_segment_block`).
///
/// Holds ``BlkifLayout/segmentsPerBlock`` segments: 14 on x86_64, 13 on x86_32, so that
/// no access leaves the entry. Invariant: `pointer` addresses a whole ring entry.
@frozen
public struct SegmentBlockView {
    /// Address of the entry.
    public let pointer: UnsafeMutableRawPointer
    /// The ABI fixing the entry size.
    public let abi: ABI

    /// A view of the segment block at `pointer`.
    @inlinable
    public init(_ pointer: UnsafeMutableRawPointer, abi: ABI) {
        self.pointer = pointer
        self.abi = abi
    }

    /// Number of segments this block holds in its ABI.
    @inlinable public var capacity: Int { abi.layout.segmentsPerBlock }

    /// `seg[index]`, for `index` in `0..<capacity`; traps outside.
    @inlinable
    public func segment(_ index: Int) -> Segment {
        precondition(index >= 0 && index < capacity, "segment block index out of range")
        return Segment(at: pointer + index * BlkifLayout.segmentSize)
    }

    /// Writes `seg[index]` (all 8 bytes), for `index` in `0..<capacity`; traps outside.
    @inlinable
    public func setSegment(_ index: Int, to segment: Segment) {
        precondition(index >= 0 && index < capacity, "segment block index out of range")
        segment.store(at: pointer + index * BlkifLayout.segmentSize)
    }
}
