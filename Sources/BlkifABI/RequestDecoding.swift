// Decoding a private copy of a request's entries into a validated, typed request.
//
// The fast path (a well-formed read or write) is inlined into the caller's loop; building an
// error is outlined (`@inline(never)`), so the checks cost a compare and a branch each.

extension BlkifRequest {
    /// Ring entries the request whose header entry is at `header` occupies: more than one only
    /// for a read/write/barrier/flush with more than 11 segments within the negotiated maximum
    /// (segment blocks). Anything malformed counts 1, so a bad request never swallows others.
    ///
    /// - Parameter header: a private copy of the first entry (never shared memory).
    @inlinable @inline(__always)
    public static func entryCount(ofHeader header: UnsafeRawPointer, abi: ABI, limits: RequestLimits) -> Int {
        entryCount(
            operation: Operation(rawValue: header.loadLittleEndian(at: BlkifLayout.operationOffset, as: UInt8.self)),
            segmentCount: Int(header.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self)),
            abi: abi, limits: limits)
    }

    /// Ring entries a request of `operation` and `nr_segments` `segmentCount` occupies (see
    /// ``entryCount(ofHeader:abi:limits:)``), from header fields already copied out.
    @inlinable @inline(__always)
    public static func entryCount(operation: Operation, segmentCount: Int, abi: ABI, limits: RequestLimits) -> Int {
        guard operation.carriesSegments, segmentCount <= limits.maximumSegments else { return 1 }
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
    @_transparent  // `@inline(__always)` is not honoured across modules for this typed-throws
                   // function, and a call costs a third of the backend's time per request
    public static func decode(_ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits) throws(RequestError) -> BlkifRequest {
        let layout = abi.layout
        guard let base = bytes.baseAddress, bytes.count >= layout.requestSize else {
            throw truncatedHeader(bytes, needed: layout.requestSize)
        }
        let operation = Operation(rawValue: base.loadLittleEndian(at: BlkifLayout.operationOffset, as: UInt8.self))
        let id = RequestID(base.loadLittleEndian(at: layout.requestID, as: UInt64.self))
        // Reads, writes and discards inline; the rarer operations out of line, so the caller's
        // loop stays small.
        switch operation.rawValue {
        case Operation.read.rawValue:
            return .read(try decodeTransfer(bytes, abi: abi, limits: limits, id: id, operation: operation, minimum: 1))
        case Operation.write.rawValue:
            return .write(try decodeTransfer(bytes, abi: abi, limits: limits, id: id, operation: operation, minimum: 1))
        case Operation.discard.rawValue:
            return .discard(try decodeDiscard(base, abi: abi, limits: limits, id: id))
        default:
            return try decodeRare(bytes, abi: abi, limits: limits, id: id, operation: operation)
        }
    }

    /// Barrier, flush, indirect and unknown operations (cold path).
    @usableFromInline @inline(never)
    static func decodeRare(
        _ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits, id: RequestID, operation: Operation
    ) throws(RequestError) -> BlkifRequest {
        switch operation.rawValue {
        case Operation.writeBarrier.rawValue:
            return .writeBarrier(try decodeTransfer(bytes, abi: abi, limits: limits, id: id, operation: operation, minimum: 0))
        case Operation.flushDiskCache.rawValue:
            return .flushDiskCache(try decodeTransfer(bytes, abi: abi, limits: limits, id: id, operation: operation, minimum: 0))
        case Operation.indirect.rawValue:
            return .indirect(try decodeIndirect(bytes.baseAddress.unsafelyUnwrapped, abi: abi, limits: limits, id: id))
        default:
            throw RequestError.failure(id, operation, .unknownOperation)
        }
    }

    @_transparent @usableFromInline  // see decode
    static func decodeTransfer(
        _ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits, id: RequestID, operation: Operation, minimum: Int
    ) throws(RequestError) -> Transfer {
        let base = bytes.baseAddress.unsafelyUnwrapped  // safe: decode checked it is non-nil
        let layout = abi.layout
        let count = Int(base.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self))
        guard count >= minimum, count <= limits.maximumSegments else {
            throw RequestError.failure(id, operation, .segmentCount(count, allowed: minimum...limits.maximumSegments))
        }
        if count > ABI.segmentsPerHeader {
            let needed = abi.entriesForSegments(count) * layout.entrySize
            guard bytes.count >= needed else {
                throw RequestError.failure(id, operation, .truncated(needed: needed, available: bytes.count))
            }
        }
        let sector = Sector(base.loadLittleEndian(at: layout.requestSector, as: UInt64.self))
        let segments = SegmentList(entries: base, count: count, abi: abi)
        if count <= ABI.segmentsPerHeader {
            try validateHeaderSegments(base + layout.requestSegments, count: count, id: id, operation: operation, sector: sector, capacity: limits.capacity)
        } else {
            try validate(segments, id: id, operation: operation, sector: sector, capacity: limits.capacity)
        }
        let handle = DeviceHandle(base.loadLittleEndian(at: BlkifLayout.handleOffset, as: UInt16.self))
        return Transfer(id: id, handle: handle, sector: sector, segments: segments)
    }

    /// Checks every segment's sector range and, when `capacity` is known, the whole transfer's.
    @inlinable @inline(__always)
    static func validate(
        _ segments: SegmentList, id: RequestID, operation: Operation, sector: Sector, capacity: Sector?
    ) throws(RequestError) {
        var sectors: UInt64 = 0
        var index = 0
        for segment in segments {
            // One test for both defects on the fast path: last < 8 and first <= last.
            guard segment.isValid else { throw RequestError.invalidSegment(segment, index: index, id: id, operation: operation) }
            sectors &+= UInt64(segment.lastSector &- segment.firstSector) &+ 1  // safe: at most 4096 × 8
            index &+= 1
        }
        try checkRange(sector: sector, count: sectors, capacity: capacity, id: id, operation: operation)
    }

    /// ``validate(_:id:operation:sector:capacity:)`` for at most 11 segments, all in the header
    /// entry: one 8-byte load and one test per segment.
    @inlinable @inline(__always)
    static func validateHeaderSegments(
        _ first: UnsafeRawPointer, count: Int, id: RequestID, operation: Operation, sector: Sector, capacity: Sector?
    ) throws(RequestError) {
        var sectors: UInt64 = 0
        for index in 0..<count {
            let segment = Segment(at: first + index &* BlkifLayout.segmentSize)
            guard segment.isValid else { throw RequestError.invalidSegment(segment, index: index, id: id, operation: operation) }
            sectors &+= UInt64(segment.lastSector &- segment.firstSector) &+ 1
        }
        try checkRange(sector: sector, count: sectors, capacity: capacity, id: id, operation: operation)
    }

    @inlinable @inline(__always)
    static func checkRange(sector: Sector, count: UInt64, capacity: Sector?, id: RequestID, operation: Operation) throws(RequestError) {
        let (end, overflow) = sector.rawValue.addingReportingOverflow(count)
        guard !overflow, end <= capacity?.rawValue ?? UInt64.max else {
            throw RequestError.failure(
                id, operation, .beyondCapacity(sector: sector, count: count, capacity: capacity ?? Sector(UInt64.max)))
        }
    }

    @inlinable @inline(__always)
    static func decodeDiscard(_ base: UnsafeRawPointer, abi: ABI, limits: RequestLimits, id: RequestID) throws(RequestError) -> Discard {
        let layout = abi.layout
        let sector = Sector(base.loadLittleEndian(at: layout.requestSector, as: UInt64.self))
        let count = base.loadLittleEndian(at: layout.discardSectorCount, as: UInt64.self)
        guard count > 0 else { throw RequestError.failure(id, .discard, .emptyDiscard) }
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

    /// The error for a copy too short to hold even a request header (cold path).
    @usableFromInline @inline(never)
    static func truncatedHeader(_ bytes: UnsafeRawBufferPointer, needed: Int) -> RequestError {
        RequestError(
            id: RequestID(0), operation: Operation(rawValue: bytes.first ?? 0),
            reason: .truncated(needed: needed, available: bytes.count))
    }
}

extension RequestError {
    /// Builds an error out of line, so the decoder's fast path stays small.
    @usableFromInline @inline(never)
    static func failure(_ id: RequestID, _ operation: Operation, _ reason: Reason) -> RequestError {
        RequestError(id: id, operation: operation, reason: reason)
    }

    /// The error for a segment whose sector range is malformed (cold path).
    @usableFromInline @inline(never)
    static func invalidSegment(_ segment: Segment, index: Int, id: RequestID, operation: Operation) -> RequestError {
        guard segment.lastSector < Sector.perPage else {
            return RequestError(id: id, operation: operation, reason: .lastSectorOutsidePage(segment: index, last: segment.lastSector))
        }
        return RequestError(
            id: id, operation: operation,
            reason: .firstSectorAfterLast(segment: index, first: segment.firstSector, last: segment.lastSector))
    }
}
