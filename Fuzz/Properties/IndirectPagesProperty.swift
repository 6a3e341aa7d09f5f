// An indirect request's segment pages, however many bytes of them were mapped.

import BlkifABI

/// `IndirectTransfer.segments(copying:into:)`: the input picks an ABI, limits that allow
/// indirect requests, and an indirect header (its operation byte forced to indirect so the run
/// gets past it); the rest is the pages, in a buffer of exactly their size, copied into a private
/// buffer of a size the input also picks.
///
/// Properties: no trap, no read outside the pages or write outside the copy; either every
/// segment validated (count as the header says, each `first <= last < 8`, the transfer inside the
/// disk) or a ``RequestError`` with the request's id.
enum IndirectPagesProperty {
    /// Runs the property on one input.
    static func check(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let abi = input.abi()
        var limits = input.limits()
        if limits.maximumIndirectSegments == 0 {
            limits = RequestLimits(maximumSegments: limits.maximumSegments, maximumIndirectSegments: RequestLimits.indirectSegmentCeiling,
                                   capacity: limits.capacity)
        }
        let header = ExactBuffer(count: abi.layout.entrySize)
        let written = input.take(abi.layout.entrySize)
        header.bytes.copyMemory(from: written)
        header.bytes[0] = Operation.indirect.rawValue
        let request: IndirectTransfer
        do {
            guard case .indirect(let decoded) = try BlkifRequest.decode(header.readable, abi: abi, limits: limits) else {
                return require(false, "an indirect header decoded as something else")
            }
            request = decoded
        } catch {
            return
        }
        let copySize = input.bool() ? request.segmentBytes : input.int(in: 0...request.segmentBytes + 8)
        let pages = ExactBuffer(copying: input.rest())
        let copy = ExactBuffer(count: copySize)
        do {
            let segments = try request.segments(copying: pages.readable, into: copy.bytes)
            require(pages.bytes.count >= request.segmentBytes && copy.bytes.count >= request.segmentBytes, "validated a short copy")
            require(segments.count == request.segmentCount, "\(segments.count) of \(request.segmentCount) segments")
            require(segments.allSatisfy(\.isValid), "an invalid segment validated")
            require(limits.contains(request.sector, count: UInt64(segments.sectorCount)), "indirect transfer past the disk")
        } catch {
            require(error.id == request.id, "error \(error) names another id")
        }
    }
}
