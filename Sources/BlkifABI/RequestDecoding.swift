// Decoding a private copy of a request's entries into a validated, typed request.

extension BlkifRequest {
    /// Ring entries the request whose header entry is at `header` occupies: more than one only
    /// for a read/write/barrier/flush with more than 11 segments within the negotiated maximum
    /// (segment blocks). Anything malformed counts 1, so a bad request never swallows others.
    ///
    /// - Parameter header: a private copy of the first entry (never shared memory).
    @inlinable
    public static func entryCount(ofHeader header: UnsafeRawPointer, abi: ABI, limits: RequestLimits) -> Int {
        let operation = Operation(rawValue: header.loadLittleEndian(at: BlkifLayout.operationOffset, as: UInt8.self))
        guard operation.carriesSegments else { return 1 }
        let segmentCount = Int(header.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self))
        guard segmentCount <= limits.maximumSegments else { return 1 }
        return abi.entriesForSegments(segmentCount)
    }

    /// Decodes and validates a request from a private copy of its entries.
    ///
    /// - Parameter bytes: the request's entries copied out of the ring, back to back: at least
    ///   ``entryCount(ofHeader:abi:limits:)`` entries. Never pass shared memory: the peer could
    ///   change it between validation and use.
    /// - Returns: the typed request; its segment list points into `bytes`.
    /// - Throws: ``RequestError`` naming the field and the value; never traps, never reads
    ///   outside `bytes`.
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits) throws(RequestError) -> BlkifRequest {
        let layout = abi.layout
        guard let base = bytes.baseAddress, bytes.count >= layout.requestSize else {
            throw RequestError(
                id: RequestID(0), operation: Operation(rawValue: bytes.first ?? 0),
                reason: .truncated(needed: layout.requestSize, available: bytes.count))
        }
        let operation = Operation(rawValue: base.loadLittleEndian(at: BlkifLayout.operationOffset, as: UInt8.self))
        let id = RequestID(base.loadLittleEndian(at: layout.requestID, as: UInt64.self))
        switch operation {
        case .read: return .read(try decodeTransfer(bytes, abi: abi, limits: limits, id: id, operation: operation, minimum: 1))
        case .write: return .write(try decodeTransfer(bytes, abi: abi, limits: limits, id: id, operation: operation, minimum: 1))
        case .writeBarrier:
            return .writeBarrier(try decodeTransfer(bytes, abi: abi, limits: limits, id: id, operation: operation, minimum: 0))
        case .flushDiskCache:
            return .flushDiskCache(try decodeTransfer(bytes, abi: abi, limits: limits, id: id, operation: operation, minimum: 0))
        case .discard: return .discard(try decodeDiscard(base, abi: abi, limits: limits, id: id))
        case .indirect: return .indirect(try decodeIndirect(base, abi: abi, limits: limits, id: id))
        default: throw RequestError(id: id, operation: operation, reason: .unknownOperation)
        }
    }

    @inlinable
    static func decodeTransfer(
        _ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits, id: RequestID, operation: Operation, minimum: Int
    ) throws(RequestError) -> Transfer {
        let base = bytes.baseAddress.unsafelyUnwrapped  // safe: decode checked it is non-nil
        let layout = abi.layout
        let count = Int(base.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self))
        let allowed = minimum...limits.maximumSegments
        guard allowed.contains(count) else {
            throw RequestError(id: id, operation: operation, reason: .segmentCount(count, allowed: allowed))
        }
        let needed = abi.entriesForSegments(count) * layout.entrySize
        guard bytes.count >= needed else {
            throw RequestError(id: id, operation: operation, reason: .truncated(needed: needed, available: bytes.count))
        }
        let sector = Sector(base.loadLittleEndian(at: layout.requestSector, as: UInt64.self))
        let segments = SegmentList(entries: base, count: count, abi: abi)
        try validate(segments, id: id, operation: operation, sector: sector, capacity: limits.capacity)
        let handle = DeviceHandle(base.loadLittleEndian(at: BlkifLayout.handleOffset, as: UInt16.self))
        return Transfer(id: id, handle: handle, sector: sector, segments: segments)
    }

    /// Checks every segment's sector range and, when `capacity` is known, the whole transfer's.
    @inlinable
    static func validate(
        _ segments: SegmentList, id: RequestID, operation: Operation, sector: Sector, capacity: Sector?
    ) throws(RequestError) {
        var sectors: UInt64 = 0
        for (index, segment) in segments.enumerated() {
            guard segment.lastSector < Sector.perPage else {
                throw RequestError(id: id, operation: operation, reason: .lastSectorOutsidePage(segment: index, last: segment.lastSector))
            }
            guard segment.firstSector <= segment.lastSector else {
                throw RequestError(
                    id: id, operation: operation,
                    reason: .firstSectorAfterLast(segment: index, first: segment.firstSector, last: segment.lastSector))
            }
            sectors += UInt64(segment.sectorCount)  // safe: at most 4096 segments of 8 sectors
        }
        try checkRange(sector: sector, count: sectors, capacity: capacity, id: id, operation: operation)
    }

    @inlinable
    static func checkRange(sector: Sector, count: UInt64, capacity: Sector?, id: RequestID, operation: Operation) throws(RequestError) {
        let (end, overflow) = sector.rawValue.addingReportingOverflow(count)
        let limit = capacity?.rawValue ?? UInt64.max
        guard !overflow, end <= limit else {
            throw RequestError(
                id: id, operation: operation,
                reason: .beyondCapacity(sector: sector, count: count, capacity: capacity ?? Sector(UInt64.max)))
        }
    }

    @inlinable
    static func decodeDiscard(_ base: UnsafeRawPointer, abi: ABI, limits: RequestLimits, id: RequestID) throws(RequestError) -> Discard {
        let layout = abi.layout
        let sector = Sector(base.loadLittleEndian(at: layout.requestSector, as: UInt64.self))
        let count = base.loadLittleEndian(at: layout.discardSectorCount, as: UInt64.self)
        guard count > 0 else { throw RequestError(id: id, operation: .discard, reason: .emptyDiscard) }
        try checkRange(sector: sector, count: count, capacity: limits.capacity, id: id, operation: .discard)
        return Discard(
            id: id, handle: DeviceHandle(base.loadLittleEndian(at: BlkifLayout.handleOffset, as: UInt16.self)),
            sector: sector, sectorCount: count,
            flags: DiscardFlags(rawValue: base.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self)))
    }

    @usableFromInline
    static func decodeIndirect(_ base: UnsafeRawPointer, abi: ABI, limits: RequestLimits, id: RequestID) throws(RequestError) -> IndirectTransfer {
        guard limits.maximumIndirectSegments > 0 else {
            throw RequestError(id: id, operation: .indirect, reason: .indirectNotNegotiated)
        }
        let layout = abi.layout
        let inner = Operation(rawValue: base.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self))
        guard inner == .read || inner == .write else {
            throw RequestError(id: id, operation: .indirect, reason: .indirectOperation(inner))
        }
        let count = Int(base.loadLittleEndian(at: BlkifLayout.handleOffset, as: UInt16.self))
        let allowed = 1...limits.maximumIndirectSegments
        guard allowed.contains(count) else {
            throw RequestError(id: id, operation: .indirect, reason: .segmentCount(count, allowed: allowed))
        }
        let grants = InlineArray<8, GrantRef> { index in
            GrantRef(base.loadLittleEndian(at: layout.indirectGrants + 4 * index, as: UInt32.self))
        }
        return IndirectTransfer(
            id: id, handle: DeviceHandle(base.loadLittleEndian(at: layout.indirectHandle, as: UInt16.self)),
            sector: Sector(base.loadLittleEndian(at: layout.indirectSector, as: UInt64.self)),
            operation: inner, segmentCount: count, pageGrants: grants, capacity: limits.capacity)
    }
}
