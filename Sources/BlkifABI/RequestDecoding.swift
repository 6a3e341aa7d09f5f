// Decoding a private copy of a request's entries into a validated, typed request.
//
// The fast path (a well-formed read or write) is inlined into the caller's loop; building an
// error is outlined (`@inline(never)`), so the checks cost a compare and a branch each.
//
// The fast path reads the copy in whole words, never a byte inside one: the 4 header bytes as one
// 32-bit load (operation, nr_segments and handle taken out with shifts), each 64-bit field and
// each segment as one 64-bit load, or segments two to a 16-byte load that starts where one of
// the copy's 16-byte stores starts (all but an odd count's last pair, which spans two). A byte
// load from inside a wider, just-made store is not forwarded from the store on some processors
// (AMD Zen among them): it waits for the store to reach the cache, which cost a third of the
// backend's time per one-segment request (ringbench).
// ``BackRing`` cuts its copy's moves to match these reads.

extension BlkifRequest {
    /// Ring entries the request whose header entry is at `header` occupies: more than one only
    /// for a read/write/barrier/flush with more than 11 segments within the negotiated maximum
    /// (segment blocks). Anything malformed counts 1, so a bad request never swallows others.
    ///
    /// - Parameter header: a private copy of the first entry (never shared memory).
    @inlinable @inline(__always)
    public static func entryCount(ofHeader header: UnsafeRawPointer, abi: ABI, limits: RequestLimits) -> Int {
        let word = HeaderWord(header)
        return entryCount(operation: word.operation, segmentCount: Int(word.secondByte), abi: abi, limits: limits)
    }

    /// Ring entries a request of `operation` and `nr_segments` `segmentCount` occupies (see
    /// ``entryCount(ofHeader:abi:limits:)``), from header fields already copied out.
    @inlinable @inline(__always)
    public static func entryCount(operation: Operation, segmentCount: Int, abi: ABI, limits: RequestLimits) -> Int {
        guard operation.carriesSegments, segmentCount <= limits.maximumSegments else { return 1 }
        return abi.entriesForSegments(segmentCount)
    }

    /// Decodes and validates a request from a private copy of it.
    ///
    /// - Parameter bytes: the request copied out of the ring by
    ///   ``RingEntries/copyRequest(into:limits:)`` (or ``BackRing``): its header entry, then the segments
    ///   of its segment blocks back to back, ``BlkifLayout/copySize(entries:)`` bytes for
    ///   ``entryCount(ofHeader:abi:limits:)`` entries. On x86_64 that is simply its entries back to
    ///   back. Never pass shared memory: the peer could change it between validation and use.
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
        let header = HeaderWord(base)
        let operation = header.operation
        let id = RequestID(base.loadLittleEndian(at: layout.requestID, as: UInt64.self))
        // Reads, writes and discards inline; the rarer operations out of line, so the caller's
        // loop stays small.
        switch operation.rawValue {
        case Operation.read.rawValue:
            return .read(try decodeTransfer(bytes, header: header, abi: abi, limits: limits, id: id, minimum: 1))
        case Operation.write.rawValue:
            return .write(try decodeTransfer(bytes, header: header, abi: abi, limits: limits, id: id, minimum: 1))
        case Operation.discard.rawValue:
            return .discard(try decodeDiscard(base, header: header, abi: abi, limits: limits, id: id))
        default:
            return try decodeRare(bytes, abi: abi, limits: limits, id: id, operation: operation)
        }
    }

    /// Barrier, flush, indirect and unknown operations (cold path).
    @usableFromInline @inline(never)
    static func decodeRare(
        _ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits, id: RequestID, operation: Operation
    ) throws(RequestError) -> BlkifRequest {
        let header = HeaderWord(bytes.baseAddress.unsafelyUnwrapped)  // safe: decode checked it is non-nil
        switch operation.rawValue {
        case Operation.writeBarrier.rawValue:
            return .writeBarrier(try decodeTransfer(bytes, header: header, abi: abi, limits: limits, id: id, minimum: 0))
        case Operation.flushDiskCache.rawValue:
            return .flushDiskCache(try decodeTransfer(bytes, header: header, abi: abi, limits: limits, id: id, minimum: 0))
        case Operation.indirect.rawValue:
            return .indirect(try decodeIndirect(bytes.baseAddress.unsafelyUnwrapped, abi: abi, limits: limits, id: id))
        default:
            throw RequestError.failure(id, operation, .unknownOperation)
        }
    }

    @_transparent @usableFromInline  // see decode
    static func decodeTransfer(
        _ bytes: UnsafeRawBufferPointer, header: HeaderWord, abi: ABI, limits: RequestLimits, id: RequestID, minimum: Int
    ) throws(RequestError) -> Transfer {
        let base = bytes.baseAddress.unsafelyUnwrapped  // safe: decode checked it is non-nil
        let layout = abi.layout
        let operation = header.operation
        let count = Int(header.secondByte)
        let sector = Sector(base.loadLittleEndian(at: layout.requestSector, as: UInt64.self))
        let first = base + layout.requestSegments
        if count == 1 {
            // One segment (a 4 KiB page), the commonest request of all: always an allowed count
            // (`minimum` ≤ 1 ≤ 11 ≤ `maximumSegments`), inside the header entry; with a constant
            // count the check below unrolls to that one segment, no loop.
            try validate(segmentsAt: first, count: 1, id: id, operation: operation, sector: sector, limits: limits)
        } else {
            // `minimum...maximumSegments` as one unsigned compare (below `minimum` wraps high).
            guard UInt(bitPattern: count &- minimum) <= UInt(bitPattern: limits.maximumSegments &- minimum) else {
                throw RequestError.failure(id, operation, .segmentCount(count, allowed: minimum...limits.maximumSegments))
            }
            if count > ABI.segmentsPerHeader {
                let needed = layout.requestSegments + count * BlkifLayout.segmentSize
                guard bytes.count >= needed else {
                    throw RequestError.failure(id, operation, .truncated(needed: needed, available: bytes.count))
                }
            }
            try validate(segmentsAt: first, count: count, id: id, operation: operation, sector: sector, limits: limits)
        }
        return Transfer(id: id, handle: header.handle, sector: sector, segments: SegmentList(contiguous: first, count: count))
    }

    /// Checks `count` segments stored back to back at `first` (each `first_sect <= last_sect < 8`)
    /// and the transfer's sector range (no overflow, and within the disk when its size is known).
    ///
    /// The fast path is branch-free per segment: `last | (last - first)` is below 8 exactly when
    /// `first <= last < 8` (a reversed range wraps the subtraction to a huge value), so one OR
    /// accumulates every segment and one compare tests them all. One segment is one 8-byte load;
    /// more are read two to a 16-byte load, in 16-bit lanes (``Segment/pairDefects(at:)``): the
    /// pair that ends with the last segment, then every pair from `first` before it, so that an
    /// odd count reads one segment twice rather than a byte past the last (a loop with no tail
    /// to finish one segment at a time, and no branch on the count's parity). The range takes one
    /// compare: a transfer that starts below ``RequestLimits/exactRangeThreshold`` fits whatever
    /// its segments (no caller passes more than 4096, 8 sectors each); only nearer the end of
    /// the disk are the sectors summed exactly. Any failure is diagnosed out of line.
    @inlinable @inline(__always)
    static func validate(
        segmentsAt first: UnsafeRawPointer, count: Int, id: RequestID, operation: Operation, sector: Sector, limits: RequestLimits
    ) throws(RequestError) {
        let defects: UInt16
        if count >= 2 {
            // The pair that ends with the last segment, then the pairs from `first` before it
            // (for an odd count the last of them overlaps it by a segment).
            let lastPair = first + (count &- 2) &* BlkifLayout.segmentSize  // safe: count ≤ 4096
            var accumulated = Segment.pairDefects(at: lastPair)
            for pair in 0..<(count &- 1) &>> 1 {
                accumulated |= Segment.pairDefects(at: first + pair &* 2 &* BlkifLayout.segmentSize)  // safe: before lastPair
            }
            defects = accumulated[2] | accumulated[6]
        } else {
            defects = count == 1 ? UInt16(truncatingIfNeeded: Segment(at: first).defects) : 0
        }
        guard defects < UInt16(Sector.perPage) else {
            throw RequestError.invalidSegment(in: first, count: count, id: id, operation: operation)
        }
        if sector.rawValue >= limits.exactRangeThreshold {
            try checkRange(segmentsAt: first, count: count, id: id, operation: operation, sector: sector, limits: limits)
        }
    }

    /// The exact range check of ``validate(segmentsAt:count:id:operation:sector:limits:)`` for a
    /// transfer near the end of the disk (or of the 64-bit sector space): sums the sectors of
    /// every (already validated) segment. A transfer of no segments (a flush or barrier without
    /// data) moves nothing and has no range: its sector is not checked, as Linux's blkback does
    /// not, and Linux's blkfront sends its empty flushes at sector 2^64 − 1.
    @usableFromInline @inline(never)
    static func checkRange(
        segmentsAt first: UnsafeRawPointer, count: Int, id: RequestID, operation: Operation, sector: Sector, limits: RequestLimits
    ) throws(RequestError) {
        guard count > 0 else { return }
        var sectors: UInt64 = 0
        for index in 0..<count {
            sectors += UInt64(Segment(at: first + index * BlkifLayout.segmentSize).sectorCount)
        }
        try checkRange(sector: sector, count: sectors, limits: limits, id: id, operation: operation)
    }

    /// Throws unless `count` sectors from `sector` lie within the sector space and the disk.
    @inlinable @inline(__always)
    static func checkRange(sector: Sector, count: UInt64, limits: RequestLimits, id: RequestID, operation: Operation) throws(RequestError) {
        let (end, overflow) = sector.rawValue.addingReportingOverflow(count)
        guard !overflow, end <= limits.sectorLimit else {
            throw RequestError.failure(
                id, operation, .beyondCapacity(sector: sector, count: count, capacity: limits.capacity ?? Sector(UInt64.max)))
        }
    }

    @inlinable @inline(__always)
    static func decodeDiscard(
        _ base: UnsafeRawPointer, header: HeaderWord, abi: ABI, limits: RequestLimits, id: RequestID
    ) throws(RequestError) -> Discard {
        let layout = abi.layout
        let sector = Sector(base.loadLittleEndian(at: layout.requestSector, as: UInt64.self))
        let count = base.loadLittleEndian(at: layout.discardSectorCount, as: UInt64.self)
        guard count > 0 else { throw RequestError.failure(id, .discard, .emptyDiscard) }
        try checkRange(sector: sector, count: count, limits: limits, id: id, operation: .discard)
        return Discard(
            id: id, handle: header.handle, sector: sector, sectorCount: count, flags: DiscardFlags(rawValue: header.secondByte))
    }

    /// Decodes an indirect request. Its errors carry the inner operation (`indirect_op`, the
    /// byte as written), which is what its response echoes.
    @usableFromInline
    static func decodeIndirect(_ base: UnsafeRawPointer, abi: ABI, limits: RequestLimits, id: RequestID) throws(RequestError) -> IndirectTransfer {
        let layout = abi.layout
        let inner = Operation(rawValue: base.loadLittleEndian(at: BlkifLayout.secondByteOffset, as: UInt8.self))
        guard limits.maximumIndirectSegments > 0 else {
            throw RequestError(id: id, operation: inner, reason: .indirectNotNegotiated)
        }
        guard inner == .read || inner == .write else {
            throw RequestError(id: id, operation: inner, reason: .indirectOperation(inner))
        }
        let count = Int(base.loadLittleEndian(at: BlkifLayout.handleOffset, as: UInt16.self))
        let allowed = 1...limits.maximumIndirectSegments
        guard allowed.contains(count) else {
            throw RequestError(id: id, operation: inner, reason: .segmentCount(count, allowed: allowed))
        }
        let grants = InlineArray<8, GrantRef> { index in
            GrantRef(base.loadLittleEndian(at: layout.indirectGrants + 4 * index, as: UInt32.self))
        }
        return IndirectTransfer(
            id: id, handle: DeviceHandle(base.loadLittleEndian(at: layout.indirectHandle, as: UInt16.self)),
            sector: Sector(base.loadLittleEndian(at: layout.indirectSector, as: UInt64.self)),
            operation: inner, segmentCount: count, pageGrants: grants, limits: limits)
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

    /// The error for the first malformed segment of `count` stored at `first` (cold path).
    @usableFromInline @inline(never)
    static func invalidSegment(in first: UnsafeRawPointer, count: Int, id: RequestID, operation: Operation) -> RequestError {
        for index in 0..<count {
            let segment = Segment(at: first + index * BlkifLayout.segmentSize)
            if segment.lastSector >= Sector.perPage {
                return RequestError(id: id, operation: operation, reason: .lastSectorOutsidePage(segment: index, last: segment.lastSector))
            }
            if segment.firstSector > segment.lastSector {
                return RequestError(
                    id: id, operation: operation,
                    reason: .firstSectorAfterLast(segment: index, first: segment.firstSector, last: segment.lastSector))
            }
        }
        preconditionFailure("invalidSegment(in:) called on valid segments")
    }
}

/// The 4 bytes every request layout starts with (`operation`; `nr_segments`, a discard's `flag`
/// or `indirect_op`; `handle` or an indirect request's `nr_segments`), read from a private copy
/// as one 32-bit load and taken apart in registers.
@frozen @usableFromInline
struct HeaderWord {
    /// The four bytes, little-endian.
    @usableFromInline let word: UInt32

    /// Loads the word at the start of the copy at `base`.
    @inlinable @inline(__always)
    init(_ base: UnsafeRawPointer) {
        word = base.loadLittleEndian(at: BlkifLayout.operationOffset, as: UInt32.self)
    }

    /// `operation` (byte 0).
    @inlinable var operation: Operation { Operation(rawValue: UInt8(truncatingIfNeeded: word)) }
    /// Byte 1: `nr_segments`, a discard's `flag`, or `indirect_op`.
    @inlinable var secondByte: UInt8 { UInt8(truncatingIfNeeded: word >> (8 * BlkifLayout.secondByteOffset)) }
    /// Bytes 2–3: `handle`.
    @inlinable var handle: DeviceHandle { DeviceHandle(UInt16(truncatingIfNeeded: word >> (8 * BlkifLayout.handleOffset))) }
}
