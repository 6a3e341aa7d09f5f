// Zero-copy views of the discard request, the indirect request and an indirect page.

/// A read/write view of one `struct blkif_request_discard` in place, in any ABI.
///
/// Invariant: `pointer` addresses at least ``BlkifLayout/discardSize`` bytes.
@frozen
public struct DiscardRequestView {
    /// Address of the entry.
    public let pointer: UnsafeMutableRawPointer
    /// The ABI fixing the field offsets.
    public let abi: ABI

    /// A view of the discard request at `pointer`.
    @inlinable
    public init(_ pointer: UnsafeMutableRawPointer, abi: ABI) {
        self.pointer = pointer
        self.abi = abi
    }

    /// `flag`: ``DiscardFlags/secure`` or none.
    @inlinable public var flags: DiscardFlags {
        DiscardFlags(rawValue: pointer.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self))
    }

    /// `handle`.
    @inlinable public var handle: DeviceHandle {
        DeviceHandle(pointer.loadLittleEndian(at: BlkifLayout.handleOffset, as: UInt16.self))
    }

    /// `id`.
    @inlinable public var id: RequestID {
        RequestID(pointer.loadLittleEndian(at: abi.layout.requestID, as: UInt64.self))
    }

    /// `sector_number`: first sector to discard.
    @inlinable public var sector: Sector {
        Sector(pointer.loadLittleEndian(at: abi.layout.requestSector, as: UInt64.self))
    }

    /// `nr_sectors`: sectors to discard (at offset 20 on x86_32, 24 on x86_64).
    @inlinable public var sectorCount: UInt64 {
        pointer.loadLittleEndian(at: abi.layout.discardSectorCount, as: UInt64.self)
    }

    /// Writes the whole discard request, padding included, with operation `BLKIF_OP_DISCARD`.
    @inlinable
    public func write(flags: DiscardFlags, handle: DeviceHandle, id: RequestID, sector: Sector, sectorCount: UInt64) {
        RequestView(pointer, abi: abi).writeHeader(
            operation: .discard, segmentCount: flags.rawValue, handle: handle, id: id, sector: sector)
        pointer.storeLittleEndian(sectorCount, at: abi.layout.discardSectorCount)
    }
}

/// A read/write view of one `struct blkif_request_indirect` in place, in any ABI.
///
/// Invariant: `pointer` addresses at least ``BlkifLayout/indirectSize`` (64) bytes.
@frozen
public struct IndirectRequestView {
    /// Address of the entry.
    public let pointer: UnsafeMutableRawPointer
    /// The ABI fixing the field offsets.
    public let abi: ABI

    /// Grant references in the request: `BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST`, 8.
    public static let grantCapacity = 8
    /// Segments held by one indirect page: 4096 / 8 = 512.
    public static let segmentsPerPage = RingGeometry.pageSize / BlkifLayout.segmentSize

    /// A view of the indirect request at `pointer`.
    @inlinable
    public init(_ pointer: UnsafeMutableRawPointer, abi: ABI) {
        self.pointer = pointer
        self.abi = abi
    }

    /// `indirect_op`: the operation the segments perform (read or write).
    @inlinable public var indirectOperation: Operation {
        Operation(rawValue: pointer.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self))
    }

    /// `nr_segments`, 16 bits wide here.
    @inlinable public var segmentCount: UInt16 {
        pointer.loadLittleEndian(at: BlkifLayout.handleOffset, as: UInt16.self)
    }

    /// `id`.
    @inlinable public var id: RequestID {
        RequestID(pointer.loadLittleEndian(at: abi.layout.indirectID, as: UInt64.self))
    }

    /// `sector_number`.
    @inlinable public var sector: Sector {
        Sector(pointer.loadLittleEndian(at: abi.layout.indirectSector, as: UInt64.self))
    }

    /// `handle`.
    @inlinable public var handle: DeviceHandle {
        DeviceHandle(pointer.loadLittleEndian(at: abi.layout.indirectHandle, as: UInt16.self))
    }

    /// `indirect_grefs[index]`, for `index` in `0..<8`; traps outside.
    @inlinable
    public func grant(_ index: Int) -> GrantRef {
        precondition(index >= 0 && index < Self.grantCapacity, "indirect grant index out of range")
        return GrantRef(pointer.loadLittleEndian(at: abi.layout.indirectGrants + 4 * index, as: UInt32.self))
    }

    /// Writes the whole indirect request, all 64 bytes, padding zeroed and unused grant
    /// references zero; `grants` may hold at most 8.
    @inlinable
    public func write(
        indirectOperation: Operation, segmentCount: UInt16, handle: DeviceHandle, id: RequestID, sector: Sector,
        grants: some Collection<GrantRef>
    ) {
        precondition(grants.count <= Self.grantCapacity, "an indirect request holds at most 8 grant references")
        let layout = abi.layout
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: layout.indirectSize)
        pointer.storeLittleEndian(Operation.indirect.rawValue, at: BlkifLayout.operationOffset)
        pointer.storeLittleEndian(indirectOperation.rawValue, at: BlkifLayout.secondByteOffset)
        pointer.storeLittleEndian(segmentCount, at: BlkifLayout.handleOffset)
        pointer.storeLittleEndian(id.rawValue, at: layout.indirectID)
        pointer.storeLittleEndian(sector.rawValue, at: layout.indirectSector)
        pointer.storeLittleEndian(handle.rawValue, at: layout.indirectHandle)
        for (index, grant) in grants.enumerated() {
            pointer.storeLittleEndian(grant.rawValue, at: layout.indirectGrants + 4 * index)
        }
    }
}

/// A read/write view of one indirect page in place: 512 segments back to back.
///
/// The layout is the same in every ABI. Invariant: `pointer` addresses 4096 bytes.
@frozen
public struct IndirectPageView {
    /// Address of the page.
    public let pointer: UnsafeMutableRawPointer

    /// A view of the indirect page at `pointer`.
    @inlinable
    public init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }

    /// Segment `index`, for `index` in `0..<512`; traps outside.
    @inlinable
    public func segment(_ index: Int) -> Segment {
        precondition(index >= 0 && index < IndirectRequestView.segmentsPerPage, "indirect segment index out of range")
        return Segment(at: pointer + index * BlkifLayout.segmentSize)
    }

    /// Writes segment `index` (all 8 bytes), for `index` in `0..<512`; traps outside.
    @inlinable
    public func setSegment(_ index: Int, to segment: Segment) {
        precondition(index >= 0 && index < IndirectRequestView.segmentsPerPage, "indirect segment index out of range")
        segment.store(at: pointer + index * BlkifLayout.segmentSize)
    }
}
