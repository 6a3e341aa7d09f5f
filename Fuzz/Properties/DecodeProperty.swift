// BlkifRequest.decode over any copy, in any ABI, against any limits.

import BlkifABI

/// `BlkifRequest.decode` of whatever a peer wrote: the input picks an ABI and limits, and the
/// rest is the request's private copy, in a buffer of exactly its size (any read past it is an
/// address-sanitizer error).
///
/// Properties: no trap; either a request that meets every invariant of a valid one (segment
/// count within the limits and the copy, every segment `first <= last < 8`, the sector range
/// inside the disk) with the id and operation as written, or a ``RequestError`` naming the
/// request as written (its id, and the operation its response echoes: an indirect request's
/// `indirect_op`), or a truncated copy; the entry count of a header lies within what the
/// limits allow.
enum DecodeProperty {
    /// Runs the property on one input.
    static func check(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let (abi, limits) = (input.abi(), input.limits())
        let copy = ExactBuffer(copying: input.rest())
        check(copy.readable, abi: abi, limits: limits)
    }

    /// Decodes `bytes` and checks the outcome.
    static func check(_ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits) {
        let layout = abi.layout
        if bytes.count >= layout.entrySize {
            let entries = BlkifRequest.entryCount(ofHeader: bytes.baseAddress.unsafelyUnwrapped, abi: abi, limits: limits)
            require((1...abi.entriesForSegments(limits.maximumSegments)).contains(entries), "\(entries) entries for one request")
        }
        do {
            let request = try BlkifRequest.decode(bytes, abi: abi, limits: limits)
            require(bytes.count >= layout.requestSize, "decoded a \(bytes.count)-byte copy")
            require(request.id.rawValue == bytes.loadUnaligned(fromByteOffset: layout.requestID, as: UInt64.self), "id changed")
            checkInvariants(request, bytes: bytes, abi: abi, limits: limits)
        } catch {
            guard bytes.count >= layout.requestSize else {
                return require(error.reason == .truncated(needed: layout.requestSize, available: bytes.count), "\(error)")
            }
            // An indirect request is answered with the operation it carries (`indirect_op`).
            let written = Operation(rawValue: bytes[bytes[0] == Operation.indirect.rawValue ? BlkifLayout.secondByteOffset : 0])
            require(error.operation == written, "error \(error) names operation \(error.operation), written \(written)")
            require(error.id.rawValue == bytes.loadUnaligned(fromByteOffset: layout.requestID, as: UInt64.self), "error \(error) names another id")
        }
    }

    private static func checkInvariants(_ request: BlkifRequest, bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits) {
        switch request {
        case .read(let transfer), .write(let transfer), .writeBarrier(let transfer), .flushDiskCache(let transfer):
            require(request.operation.rawValue == bytes[0], "operation \(request.operation) from byte \(bytes[0])")
            require(transfer.segments.count <= limits.maximumSegments, "\(transfer.segments.count) segments")
            require(abi.layout.requestSegments + transfer.segments.count * BlkifLayout.segmentSize <= bytes.count,
                    "\(transfer.segments.count) segments in a \(bytes.count)-byte copy")
            require(transfer.segments.allSatisfy(\.isValid), "an invalid segment validated")
            // A transfer without data (an empty flush or barrier) has no range, whatever its sector.
            require(transfer.segments.count == 0 || limits.contains(transfer.sector, count: UInt64(transfer.segments.sectorCount)),
                    "transfer past the disk")
        case .discard(let discard):
            require(bytes[0] == Operation.discard.rawValue, "a discard from operation \(bytes[0])")
            require(discard.sectorCount > 0 && limits.contains(discard.sector, count: discard.sectorCount), "discard past the disk")
        case .indirect(let indirect):
            require(bytes[0] == Operation.indirect.rawValue, "an indirect request from operation \(bytes[0])")
            require((1...max(1, limits.maximumIndirectSegments)).contains(indirect.segmentCount), "\(indirect.segmentCount) indirect segments")
            require(indirect.operation == .read || indirect.operation == .write, "indirect \(indirect.operation)")
            require(indirect.pageCount <= IndirectRequestView.grantCapacity, "\(indirect.pageCount) indirect pages")
        }
    }
}
