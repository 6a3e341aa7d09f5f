// Decoding whatever a peer writes never traps and never reads outside the copy it is given.

import BlkifABI
import TestSupport
import XCTest

/// Random and half-valid requests, decoded from buffers of exactly the size of their copy
/// (`copySize(entries: entryCount(ofHeader:))`, or shorter): under the address sanitizer
/// (`make test-asan`) any read past them fails the run. Either the request decodes and meets
/// every invariant, or a ``RequestError`` names the request as it was written.
final class DecodingFuzzTests: ABITestCase {
    func testDecodingRandomRequestsNeverTrapsOrReadsOutsideTheirEntries() {
        forEachCase(quick: 10_000) { random in
            let (abi, limits) = (random.abi(), random.limits())
            let run = randomRun(&random, abi: abi, limits: limits)
            check(run.bytes, abi: abi, limits: limits)
        }
    }

    func testDecodingTruncatedCopiesNeverReadsPastThem() {
        forEachCase(quick: 10_000) { random in
            let (abi, limits) = (random.abi(), random.limits())
            let run = randomRun(&random, abi: abi, limits: limits)
            let copy = exactBytes(copying: run.pointer, count: random.int(in: 0...run.buffer.count - 1))
            check(copy.bytes, abi: abi, limits: limits)
        }
    }

    func testValidatingRandomIndirectPagesNeverTrapsOrReadsPastThem() throws {
        try forEachCase(quick: 500) { random in
            let abi = random.abi()
            let count = random.int(in: 1...RequestLimits.indirectSegmentCeiling)
            let entry = exactBytes(count: abi.layout.entrySize)
            IndirectRequestView(entry.pointer, abi: abi).write(
                indirectOperation: .write, segmentCount: UInt16(count), handle: DeviceHandle(0), id: RequestID(random.next()),
                sector: Sector(0), grants: [])
            let limits = RequestLimits(maximumIndirectSegments: RequestLimits.indirectSegmentCeiling)
            guard case .indirect(let request) = try BlkifRequest.decode(entry.bytes, abi: abi, limits: limits) else {
                return XCTFail("an indirect request decoded as something else")
            }
            let needed = count * BlkifLayout.segmentSize
            let pages = exactBytes(count: random.next(below: 4) == 0 ? random.int(in: 0...needed) : needed, randomFrom: &random)
            for index in 0..<pages.buffer.count / BlkifLayout.segmentSize where random.next(below: 64) != 0 {
                let (page, slot) = index.quotientAndRemainder(dividingBy: IndirectRequestView.segmentsPerPage)
                IndirectPageView(pages.pointer + page * RingGeometry.pageSize).setSegment(slot, to: random.segment())
            }
            do {
                let segments = try self.segments(of: request, inPages: pages.bytes)
                XCTAssertGreaterThanOrEqual(pages.buffer.count, needed)
                XCTAssertTrue(segments.count == count && segments.allSatisfy(\.isValid), "only valid segments validate")
            } catch let error as RequestError {
                XCTAssertEqual(error.id, request.id)
            } catch {
                XCTFail("untyped error \(error)")
            }
        }
    }

    // MARK: Helpers

    /// One entry of random bytes, half the time with a known operation and a segment count
    /// near the limits, so that decoding gets past its first checks.
    private func randomHeader(_ random: inout SplitMix64, abi: ABI, limits: RequestLimits) -> ExactBytes {
        let header = exactBytes(count: abi.layout.entrySize, randomFrom: &random)
        if random.next(below: 2) == 0 { header.buffer[0] = UInt8(random.next(below: 8)) }
        if random.next(below: 2) == 0 { header.buffer[1] = UInt8(random.int(in: 0...min(255, limits.maximumSegments + 1))) }
        if random.next(below: 2) == 0 { header.buffer[1] = UInt8(random.next(below: 3)) }  // also indirect_op
        if header.buffer[0] == Operation.indirect.rawValue, random.next(below: 2) == 0 {
            header.buffer.storeBytes(of: UInt16(random.int(in: 0...limits.maximumIndirectSegments + 1)).littleEndian, toByteOffset: 2, as: UInt16.self)
        }
        return header
    }

    /// A random request copied out of exactly as many entries as
    /// ``BlkifRequest/entryCount(ofHeader:abi:limits:)`` says, half the time with valid segments
    /// so that decoding reaches the segment blocks.
    private func randomRun(_ random: inout SplitMix64, abi: ABI, limits: RequestLimits) -> ExactBytes {
        let header = randomHeader(&random, abi: abi, limits: limits)
        let entries = BlkifRequest.entryCount(ofHeader: header.pointer, abi: abi, limits: limits)
        XCTAssertTrue((1...abi.entriesForSegments(limits.maximumSegments)).contains(entries), "\(entries) entries")
        let run = exactBytes(count: entries * abi.layout.entrySize, randomFrom: &random)
        run.pointer.copyMemory(from: header.pointer, byteCount: abi.layout.entrySize)
        if random.next(below: 2) == 0 { writeMostlyValidSegments(run, entries: entries, abi: abi, random: &random) }
        return requestCopy(of: run.pointer, entries: entries, abi: abi, limits: limits)
    }

    /// Valid segments in every slot `nr_segments` names, one of them sometimes corrupted.
    private func writeMostlyValidSegments(_ run: ExactBytes, entries: Int, abi: ABI, random: inout SplitMix64) {
        let capacity = ABI.segmentsPerHeader + (entries - 1) * abi.layout.segmentsPerBlock
        let count = min(Int(run.buffer[1]), capacity)
        let writer = RingEntries(contiguous: run.pointer, count: entries, abi: abi)
        for index in 0..<count {
            writer.setSegment(index, to: random.segment())
        }
        if count > 0, random.next(below: 4) == 0 {
            let bad = Segment(grant: GrantRef(0), firstSector: UInt8(random.next(below: 256)), lastSector: UInt8(random.next(below: 256)))
            writer.setSegment(random.int(in: 0...count - 1), to: bad)
        }
    }

    /// Decodes `bytes` and checks the outcome against the invariants of a valid request.
    private func check(_ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits) {
        let layout = abi.layout
        do {
            let request = try BlkifRequest.decode(bytes, abi: abi, limits: limits)
            XCTAssertGreaterThanOrEqual(bytes.count, layout.requestSize)
            XCTAssertEqual(request.operation.rawValue, Self.echoedOperation(bytes))
            XCTAssertEqual(request.id.rawValue, bytes.loadUnaligned(fromByteOffset: layout.requestID, as: UInt64.self))
            checkInvariants(request, bytes: bytes, abi: abi, limits: limits)
        } catch {
            guard bytes.count >= layout.requestSize else {
                return XCTAssertEqual(error.reason, .truncated(needed: layout.requestSize, available: bytes.count))
            }
            XCTAssertEqual(error.operation.rawValue, Self.echoedOperation(bytes))
            XCTAssertEqual(error.id.rawValue, bytes.loadUnaligned(fromByteOffset: layout.requestID, as: UInt64.self))
        }
    }

    /// The operation a response to the request in `bytes` echoes: its first byte, or for an
    /// indirect request its second (`indirect_op`).
    private static func echoedOperation(_ bytes: UnsafeRawBufferPointer) -> UInt8 {
        bytes[0] == Operation.indirect.rawValue ? bytes[1] : bytes[0]
    }

    private func checkInvariants(_ request: BlkifRequest, bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits) {
        let end = { (sector: Sector, count: UInt64) in sector.rawValue.addingReportingOverflow(count) }
        let capacity = limits.capacity?.rawValue ?? .max
        switch request {
        case .read(let transfer), .write(let transfer), .writeBarrier(let transfer), .flushDiskCache(let transfer):
            XCTAssertLessThanOrEqual(transfer.segments.count, limits.maximumSegments)
            XCTAssertLessThanOrEqual(abi.layout.requestSegments + transfer.segments.count * BlkifLayout.segmentSize, bytes.count)
            XCTAssertTrue(transfer.segments.allSatisfy(\.isValid))
            // A transfer without data (an empty flush or barrier) has no range, whatever its sector.
            let (last, overflow) = end(transfer.sector, UInt64(transfer.segments.sectorCount))
            XCTAssertTrue(transfer.segments.count == 0 || (!overflow && last <= capacity))
        case .discard(let discard):
            let (last, overflow) = end(discard.sector, discard.sectorCount)
            XCTAssertTrue(discard.sectorCount > 0 && !overflow && last <= capacity)
        case .indirect(let indirect):
            XCTAssertTrue((1...max(1, limits.maximumIndirectSegments)).contains(indirect.segmentCount))
            XCTAssertTrue(indirect.operation == .read || indirect.operation == .write)
        }
    }
}
