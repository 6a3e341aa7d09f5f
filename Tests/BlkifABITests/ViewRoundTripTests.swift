// Encode with the views, decode with the views and the decoder: the identity, in every layout and ABI.

import BlkifABI
import TestSupport
import XCTest

/// Property tests: random valid values written with a view read back unchanged, through the
/// view's getters and through ``BlkifRequest/decode(_:abi:limits:)``. Every buffer is exactly as
/// large as the structure (or the request's run of entries), so under the address sanitizer a
/// view that strays outside its structure fails the test.
final class ViewRoundTripTests: ABITestCase {
    func testRequestsOfEverySegmentCountRoundTripAcrossSegmentBlocksInEveryABI() throws {
        let limits = RequestLimits(maximumSegments: ABI.maximumBlockSegments)
        try forEachCase(quick: 1_500) { random in
            let abi = random.abi()
            let operation = random.element(of: [Operation.read, .write, .writeBarrier, .flushDiskCache])
            let minimum = operation == .read || operation == .write ? 1 : 0
            let segments = (0..<random.int(in: minimum...ABI.maximumBlockSegments)).map { _ in random.segment() }
            let (id, handle, sector) = random.header()
            let entries = abi.entriesForSegments(segments.count)
            let memory = exactBytes(count: entries * abi.layout.entrySize, filledWith: 0xAA)
            RingEntries(contiguous: memory.pointer, count: entries, abi: abi).writeRequest(
                operation: operation, handle: handle, id: id, sector: sector, segments: segments)

            let view = RequestView(memory.pointer, abi: abi)
            XCTAssertEqual([view.operation, view.handle.rawValue, view.id, view.sector] as [AnyHashable], [operation, handle.rawValue, id, sector])
            XCTAssertEqual(Int(view.segmentCount), segments.count)
            XCTAssertEqual(BlkifRequest.entryCount(ofHeader: memory.pointer, abi: abi, limits: limits), entries, "\(abi)")
            XCTAssertEqual(segmentsThroughBlockViews(memory.pointer, count: segments.count, abi: abi), segments, "\(abi)")

            let copy = requestCopy(of: memory.pointer, entries: entries, abi: abi)
            let decoded = try BlkifRequest.decode(copy.bytes, abi: abi, limits: limits)
            XCTAssertEqual(decoded.operation, operation)
            XCTAssertEqual(decoded.id, id)
            switch decoded {
            case .read(let transfer), .write(let transfer), .writeBarrier(let transfer), .flushDiskCache(let transfer):
                check(transfer, handle: handle, sector: sector, segments: segments, abi: abi)
            default:
                XCTFail("\(abi): \(operation) decoded as \(decoded.operation)")
            }
        }
    }

    func testDiscardsRoundTripThroughTheViewAndTheDecoderInEveryABI() throws {
        try forEachCase(quick: 1_000) { random in
            let abi = random.abi()
            let (id, handle, sector) = random.header()
            let count = 1 + random.next(below: 1 << 40)
            let flags = DiscardFlags(rawValue: UInt8(truncatingIfNeeded: random.next()))
            let exact = exactBytes(count: abi.layout.discardSize, filledWith: 0xAA)
            let view = DiscardRequestView(exact.pointer, abi: abi)
            view.write(flags: flags, handle: handle, id: id, sector: sector, sectorCount: count)
            XCTAssertEqual(RequestView(exact.pointer, abi: abi).operation, .discard)
            XCTAssertEqual([view.flags.rawValue, view.handle.rawValue] as [AnyHashable], [flags.rawValue, handle.rawValue])
            XCTAssertEqual([view.id.rawValue, view.sector.rawValue, view.sectorCount], [id.rawValue, sector.rawValue, count], "\(abi)")

            let entry = exactBytes(count: abi.layout.entrySize)
            entry.pointer.copyMemory(from: exact.pointer, byteCount: exact.buffer.count)
            guard case .discard(let discard) = try BlkifRequest.decode(entry.bytes, abi: abi, limits: RequestLimits()) else {
                return XCTFail("\(abi): a discard decoded as something else")
            }
            XCTAssertEqual([discard.id.rawValue, discard.sector.rawValue, discard.sectorCount], [id.rawValue, sector.rawValue, count], "\(abi)")
            XCTAssertEqual(discard.handle, handle)
            XCTAssertEqual(discard.flags, flags)
        }
    }

    func testIndirectRequestsAndTheirPagesRoundTripInEveryABI() throws {
        try forEachCase(quick: 300) { random in
            let abi = random.abi()
            let (id, handle, sector) = random.header()
            let operation = random.element(of: [Operation.read, .write])
            let segments = (0..<random.int(in: 1...RequestLimits.indirectSegmentCeiling)).map { _ in random.segment() }
            let grants = (0..<random.int(in: 0...IndirectRequestView.grantCapacity)).map { _ in GrantRef(UInt32(truncatingIfNeeded: random.next())) }
            let exact = exactBytes(count: abi.layout.indirectSize, filledWith: 0xAA)
            let view = IndirectRequestView(exact.pointer, abi: abi)
            view.write(
                indirectOperation: operation, segmentCount: UInt16(segments.count), handle: handle, id: id, sector: sector, grants: grants)
            XCTAssertEqual(RequestView(exact.pointer, abi: abi).operation, .indirect)
            XCTAssertEqual([view.indirectOperation, view.id, view.sector, view.handle] as [AnyHashable], [operation, id, sector, handle])
            XCTAssertEqual(Int(view.segmentCount), segments.count)
            let padded = grants + Array(repeating: GrantRef(0), count: IndirectRequestView.grantCapacity - grants.count)
            XCTAssertEqual((0..<IndirectRequestView.grantCapacity).map(view.grant), padded, "\(abi): unused grants are zero")

            let entry = exactBytes(count: abi.layout.entrySize)
            entry.pointer.copyMemory(from: exact.pointer, byteCount: exact.buffer.count)
            let limits = RequestLimits(maximumIndirectSegments: random.int(in: segments.count...RequestLimits.indirectSegmentCeiling))
            guard case .indirect(let indirect) = try BlkifRequest.decode(entry.bytes, abi: abi, limits: limits) else {
                return XCTFail("\(abi): an indirect request decoded as something else")
            }
            XCTAssertEqual([indirect.id, indirect.sector, indirect.handle, indirect.operation] as [AnyHashable], [id, sector, handle, operation])
            XCTAssertEqual(indirect.segmentCount, segments.count)
            XCTAssertEqual((0..<IndirectRequestView.grantCapacity).map { indirect.pageGrants[$0] }, padded)
            XCTAssertEqual(try segmentsThroughIndirectPages(segments, indirect), segments, "\(abi)")
        }
    }

    func testResponsesRoundTripThroughTheViewInEveryABI() {
        forEachCase(quick: 1_000) { random in
            let abi = random.abi()
            let response = Response(
                id: RequestID(random.next()), operation: Operation(rawValue: UInt8(truncatingIfNeeded: random.next())),
                status: Status(rawValue: Int16(truncatingIfNeeded: random.next())))
            let exact = exactBytes(count: abi.layout.responseSize, filledWith: 0xAA)
            let view = ResponseView(exact.pointer, abi: abi)
            view.write(id: response.id, operation: response.operation, status: response.status)
            XCTAssertEqual(view.copy(), response, "\(abi)")
            XCTAssertEqual([view.id, view.operation, view.status] as [AnyHashable], [response.id, response.operation, response.status])
        }
    }

    /// The segments read back with ``RequestView`` for the header and ``SegmentBlockView`` after it.
    private func segmentsThroughBlockViews(_ base: UnsafeMutableRawPointer, count: Int, abi: ABI) -> [Segment] {
        let header = RequestView(base, abi: abi)
        return (0..<count).map { index in
            guard index >= ABI.segmentsPerHeader else { return header.segment(index) }
            let (block, slot) = (index - ABI.segmentsPerHeader).quotientAndRemainder(dividingBy: abi.layout.segmentsPerBlock)
            return SegmentBlockView(base + (block + 1) * abi.layout.entrySize, abi: abi).segment(slot)
        }
    }

    /// Writes `segments` into indirect pages with ``IndirectPageView`` and validates them from an
    /// exact copy of the bytes they occupy.
    private func segmentsThroughIndirectPages(_ segments: [Segment], _ indirect: IndirectTransfer) throws -> [Segment] {
        let pages = exactBytes(count: indirect.pageCount * RingGeometry.pageSize, filledWith: 0xAA)
        for (index, segment) in segments.enumerated() {
            let (page, slot) = index.quotientAndRemainder(dividingBy: IndirectRequestView.segmentsPerPage)
            IndirectPageView(pages.pointer + page * RingGeometry.pageSize).setSegment(slot, to: segment)
        }
        let used = exactBytes(copying: pages.pointer, count: segments.count * BlkifLayout.segmentSize)
        return Array(try self.segments(of: indirect, inPages: used.bytes))
    }

    private func check(_ transfer: Transfer, handle: DeviceHandle, sector: Sector, segments: [Segment], abi: ABI) {
        XCTAssertEqual(transfer.handle, handle, "\(abi)")
        XCTAssertEqual(transfer.sector, sector, "\(abi)")
        XCTAssertEqual(Array(transfer.segments), segments, "\(abi)")
        XCTAssertEqual(transfer.segments.sectorCount, segments.reduce(0) { $0 + $1.sectorCount })
    }
}
