// Every defect a peer can write becomes a typed RequestError naming the field and the value.

import BlkifABI
import XCTest

final class DecodingErrorTests: ABITestCase {
    private let abis: [ABI] = [.x86_32, .x86_64]
    private let id = RequestID(0xfeed_f00d)

    func testReadOrWriteOfZeroSegmentsIsRefusedNamingNrSegments() {
        for abi in abis {
            for operation in [Operation.read, .write] {
                let error = decodeError(request(abi, operation, segments: []), abi: abi)
                XCTAssertEqual(error?.reason, .segmentCount(0, allowed: 1...11), "\(abi) \(operation)")
                XCTAssertEqual(error?.status, .error)
                assertDescription(error, contains: "nr_segments 0")
            }
        }
    }

    func testBarrierAndFlushOfZeroSegmentsAreAccepted() throws {
        for abi in abis {
            for operation in [Operation.writeBarrier, .flushDiskCache] {
                let memory = request(abi, operation, segments: [])
                XCTAssertEqual(try BlkifRequest.decode(memory.bytes, abi: abi, limits: RequestLimits()).operation, operation)
            }
        }
    }

    func testAFlushWithoutDataHasNoRangeToCheckWhateverItsSector() throws {
        // Linux's blkfront sends an empty flush at sector 2^64 - 1; Linux's blkback checks a
        // range only when there are sectors. Seen refused by ours under make xen-test.
        for abi in abis {
            for operation in [Operation.writeBarrier, .flushDiskCache] {
                for sector in [UInt64.max, 1000, 999] {
                    let memory = request(abi, operation, segments: [], sector: sector)
                    let decoded = try BlkifRequest.decode(memory.bytes, abi: abi, limits: RequestLimits(capacity: Sector(1000)))
                    XCTAssertEqual(decoded.operation, operation, "\(abi) \(operation) at \(sector)")
                }
                let withData = request(abi, operation, segments: [Segment(grant: GrantRef(3))], sector: UInt64.max)
                XCTAssertEqual(decodeError(withData, abi: abi, limits: RequestLimits(capacity: Sector(1000)))?.status, .error,
                               "\(abi) \(operation) with data past the end")
            }
        }
    }

    func testSegmentCountAboveTheNegotiatedMaximumIsRefusedAndTakesOneEntry() {
        for abi in abis {
            for maximum in [11, 40, 254] {
                let memory = request(abi, .write, segments: Array(repeating: Segment(grant: GrantRef(1)), count: maximum + 1))
                let limits = RequestLimits(maximumSegments: maximum)
                let error = decodeError(memory, abi: abi, limits: limits)
                XCTAssertEqual(error?.reason, .segmentCount(maximum + 1, allowed: 1...maximum), "\(abi)")
                assertDescription(error, contains: "nr_segments \(maximum + 1)")
                XCTAssertEqual(BlkifRequest.entryCount(ofHeader: memory.pointer, abi: abi, limits: limits), 1)
            }
        }
    }

    func testFirstSectorAfterLastIsRefusedNamingTheSegmentAndBothValues() {
        for abi in abis {
            for index in [0, 3, 10, 11, 30] {
                var segments = Array(repeating: Segment(grant: GrantRef(7), firstSector: 2, lastSector: 6), count: 31)
                segments[index] = Segment(grant: GrantRef(7), firstSector: 5, lastSector: 2)
                let error = decodeError(request(abi, .read, segments: segments), abi: abi, limits: RequestLimits(maximumSegments: 31))
                XCTAssertEqual(error?.reason, .firstSectorAfterLast(segment: index, first: 5, last: 2), "\(abi), segment \(index)")
                assertDescription(error, contains: "segment \(index) first_sect 5 > last_sect 2")
            }
        }
    }

    func testLastSectorOfEightOrMoreIsRefusedNamingTheSegmentAndTheValue() {
        for abi in abis {
            for (index, last) in [(0, 8), (12, 9), (5, 255)] as [(Int, UInt8)] {
                var segments = Array(repeating: Segment(grant: GrantRef(7)), count: 13)
                segments[index] = Segment(grant: GrantRef(7), firstSector: 0, lastSector: last)
                let error = decodeError(request(abi, .write, segments: segments), abi: abi, limits: RequestLimits(maximumSegments: 13))
                XCTAssertEqual(error?.reason, .lastSectorOutsidePage(segment: index, last: last), "\(abi)")
                assertDescription(error, contains: "segment \(index) last_sect \(last)")
            }
        }
    }

    /// Segments are validated two to a 16-byte load, the last pair overlapping the one before
    /// it for an odd count: a defect in any position of any count is found, and a defective
    /// segment just past the count (still inside the header entry) is not the request's.
    func testEverySegmentOfEveryCountIsValidatedAndNoneBeyondIt() throws {
        let defects: [(Segment, RequestError.Reason)] = [
            (Segment(grant: GrantRef(7), firstSector: 255, lastSector: 0), .firstSectorAfterLast(segment: 0, first: 255, last: 0)),
            (Segment(grant: GrantRef(7), firstSector: 1, lastSector: 0), .firstSectorAfterLast(segment: 0, first: 1, last: 0)),
            (Segment(grant: GrantRef(7), firstSector: 0, lastSector: 8), .lastSectorOutsidePage(segment: 0, last: 8)),
        ]
        let limits = RequestLimits(maximumSegments: 40)
        for abi in abis {
            for count in 1...40 {
                let valid = Array(repeating: Segment(grant: GrantRef(7), firstSector: 2, lastSector: 6), count: count)
                XCTAssertEqual(try BlkifRequest.decode(request(abi, .write, segments: valid).bytes, abi: abi, limits: limits).operation, .write)
                for index in 0..<count {
                    for (defect, reason) in defects {
                        var segments = valid
                        segments[index] = defect
                        let error = decodeError(request(abi, .read, segments: segments), abi: abi, limits: limits)
                        let expected: RequestError.Reason = switch reason {
                        case .firstSectorAfterLast(_, let first, let last): .firstSectorAfterLast(segment: index, first: first, last: last)
                        case .lastSectorOutsidePage(_, let last): .lastSectorOutsidePage(segment: index, last: last)
                        default: reason
                        }
                        XCTAssertEqual(error?.reason, expected, "\(abi), \(count) segments, defect at \(index)")
                    }
                }
                guard count < ABI.segmentsPerHeader else { continue }
                // A defective segment in the header slot after the last: not part of the request.
                let memory = request(abi, .read, segments: valid + [defects[0].0])
                memory.pointer.storeBytes(of: UInt8(count), toByteOffset: BlkifLayout.secondByteOffset, as: UInt8.self)
                XCTAssertEqual(try BlkifRequest.decode(memory.bytes, abi: abi, limits: limits).operation, .read, "\(abi), \(count) segments")
            }
        }
    }

    func testUnknownOperationsAreRefusedAsNotSupportedNamingTheValue() {
        for abi in abis {
            for value in [4, 7, 8, 100, 255] as [UInt8] {
                let memory = exactBytes(count: abi.layout.entrySize)
                RequestView(memory.pointer, abi: abi).writeHeader(
                    operation: Operation(rawValue: value), segmentCount: 1, handle: DeviceHandle(0), id: id, sector: Sector(0))
                let error = decodeError(memory, abi: abi)
                XCTAssertEqual(error?.reason, .unknownOperation, "\(abi), operation \(value)")
                XCTAssertEqual(error?.operation, Operation(rawValue: value))
                XCTAssertEqual(error?.status, .notSupported)
                assertDescription(error, contains: "operation \(value)")
            }
        }
    }

    func testDiscardOfZeroSectorsIsRefused() {
        for abi in abis {
            let error = decodeError(discard(abi, sector: 10, count: 0), abi: abi)
            XCTAssertEqual(error?.reason, .emptyDiscard, "\(abi)")
            assertDescription(error, contains: "nr_sectors 0")
        }
    }

    func testDiscardPastTheEndOfTheDiskOrOf64BitsIsRefusedNamingTheRange() throws {
        let capacity = RequestLimits(capacity: Sector(1000))
        for abi in abis {
            let fits = discard(abi, sector: 990, count: 10)
            XCTAssertNoThrow(try BlkifRequest.decode(fits.bytes, abi: abi, limits: capacity))
            let error = decodeError(discard(abi, sector: 990, count: 11), abi: abi, limits: capacity)
            XCTAssertEqual(error?.reason, .beyondCapacity(sector: Sector(990), count: 11, capacity: Sector(1000)), "\(abi)")
            assertDescription(error, contains: "990 + 11")
            let wrapped = decodeError(discard(abi, sector: .max - 1, count: 5), abi: abi)
            XCTAssertEqual(wrapped?.reason, .beyondCapacity(sector: Sector(.max - 1), count: 5, capacity: Sector(.max)), "\(abi)")
        }
    }

    /// The one-segment fast path checks exactly what the general one does.
    func testSingleSegmentIsValidatedLikeAnyOther() throws {
        let capacity = RequestLimits(capacity: Sector(1000))
        for abi in abis {
            for operation in [Operation.read, .write, .writeBarrier, .flushDiskCache] {
                let reversed = decodeError(request(abi, operation, segments: [Segment(grant: GrantRef(3), firstSector: 6, lastSector: 1)]), abi: abi)
                XCTAssertEqual(reversed?.reason, .firstSectorAfterLast(segment: 0, first: 6, last: 1), "\(abi) \(operation)")
                let outside = decodeError(request(abi, operation, segments: [Segment(grant: GrantRef(3), firstSector: 0, lastSector: 8)]), abi: abi)
                XCTAssertEqual(outside?.reason, .lastSectorOutsidePage(segment: 0, last: 8), "\(abi) \(operation)")
                // Four sectors ending exactly at the end of the disk fit; five do not.
                let exact = request(abi, operation, segments: [Segment(grant: GrantRef(3), firstSector: 2, lastSector: 5)], sector: 996)
                XCTAssertNoThrow(try BlkifRequest.decode(exact.bytes, abi: abi, limits: capacity), "\(abi) \(operation)")
                let past = request(abi, operation, segments: [Segment(grant: GrantRef(3), firstSector: 2, lastSector: 6)], sector: 996)
                XCTAssertEqual(decodeError(past, abi: abi, limits: capacity)?.reason,
                               .beyondCapacity(sector: Sector(996), count: 5, capacity: Sector(1000)), "\(abi) \(operation)")
                let wrapped = request(abi, operation, segments: [Segment(grant: GrantRef(3))], sector: .max - 3)
                XCTAssertEqual(decodeError(wrapped, abi: abi)?.reason,
                               .beyondCapacity(sector: Sector(.max - 3), count: 8, capacity: Sector(.max)), "\(abi) \(operation)")
            }
        }
    }

    /// A transfer's range is checked with one compare far from the end of the disk and summed
    /// exactly near it (within the largest transfer, 4096 segments of 8 sectors): either way it
    /// fits exactly when its last sector is the disk's, for every count and on either side of
    /// the bound, also after the capacity changes.
    func testTransferRangeIsExactOnBothSidesOfTheOneCompareBound() {
        let largest = UInt64(RequestLimits.indirectSegmentCeiling) * 8
        for abi in abis {
            for capacity in [UInt64(1000), largest - 1, largest, largest + 1, 1 << 20] {
                var limits = RequestLimits(maximumSegments: 255, capacity: Sector(capacity / 2))
                limits.capacity = Sector(capacity)  // the bound follows the capacity
                for count in [1, 2, 11, 12, 64, 255] {
                    let segments = Array(repeating: Segment(grant: GrantRef(1), firstSector: 1, lastSector: 6), count: count)
                    let sectors = UInt64(count) * 6
                    guard capacity >= sectors else { continue }
                    let bound = capacity >= largest ? capacity - largest + 1 : 0
                    for sector in Set([0, bound &- 1, bound, bound + 1, capacity - sectors, capacity - sectors + 1]) where sector <= capacity {
                        let memory = request(abi, .write, segments: segments, sector: sector)
                        if sector + sectors <= capacity {
                            XCTAssertNoThrow(try BlkifRequest.decode(memory.bytes, abi: abi, limits: limits), "\(abi) \(capacity) \(count) \(sector)")
                        } else {
                            XCTAssertEqual(decodeError(memory, abi: abi, limits: limits)?.reason,
                                           .beyondCapacity(sector: Sector(sector), count: sectors, capacity: Sector(capacity)),
                                           "\(abi) \(capacity) \(count) \(sector)")
                        }
                    }
                }
            }
        }
    }

    func testTransferPastTheEndOfTheDiskIsRefusedNamingTheRange() {
        for abi in abis {
            let memory = request(abi, .read, segments: [Segment(grant: GrantRef(1)), Segment(grant: GrantRef(2))], sector: 985)
            let error = decodeError(memory, abi: abi, limits: RequestLimits(capacity: Sector(1000)))
            XCTAssertEqual(error?.reason, .beyondCapacity(sector: Sector(985), count: 16, capacity: Sector(1000)), "\(abi)")
        }
    }

    func testIndirectRequestsAreRefusedUnlessNegotiatedWithReadOrWriteAndAnAllowedCount() {
        let negotiated = RequestLimits(maximumIndirectSegments: 256)
        for abi in abis {
            let plain = indirect(abi, operation: .read, count: 8)
            XCTAssertEqual(decodeError(plain, abi: abi)?.reason, .indirectNotNegotiated, "\(abi)")
            XCTAssertEqual(decodeError(plain, abi: abi)?.status, .notSupported)
            let barrier = decodeError(indirect(abi, operation: .writeBarrier, count: 8), abi: abi, limits: negotiated)
            XCTAssertEqual(barrier?.reason, .indirectOperation(.writeBarrier), "\(abi)")
            assertDescription(barrier, contains: "indirect_op 2")
            for count in [0, 257] {
                let error = decodeError(indirect(abi, operation: .write, count: count), abi: abi, limits: negotiated)
                XCTAssertEqual(error?.reason, .segmentCount(count, allowed: 1...256), "\(abi)")
            }
        }
    }

    func testIndirectPageSegmentsAreValidatedAndShortPageCopiesRefused() throws {
        let memory = indirect(.x86_64, operation: .read, count: 3)
        guard case .indirect(let request) = try BlkifRequest.decode(
            memory.bytes, abi: .x86_64, limits: RequestLimits(maximumIndirectSegments: 8)) else { return XCTFail("not indirect") }
        let short = exactBytes(count: 23)
        XCTAssertThrowsError(try segments(of: request, inPages: short.bytes)) { error in
            XCTAssertEqual((error as? RequestError)?.reason, .truncated(needed: 24, available: 23))
        }
        let page = exactBytes(count: 24)
        let view = IndirectPageView(page.pointer)
        (0..<2).forEach { view.setSegment($0, to: Segment(grant: GrantRef(1))) }
        view.setSegment(2, to: Segment(grant: GrantRef(1), firstSector: 7, lastSector: 6))
        XCTAssertThrowsError(try segments(of: request, inPages: page.bytes)) { error in
            XCTAssertEqual((error as? RequestError)?.reason, .firstSectorAfterLast(segment: 2, first: 7, last: 6))
            XCTAssertEqual((error as? RequestError)?.id, id)
        }
    }

    func testIndirectTransferPastTheEndOfTheDiskIsRefusedWithItsSegments() throws {
        let memory = indirect(.x86_32, operation: .write, count: 2)
        let limits = RequestLimits(maximumIndirectSegments: 8, capacity: Sector(12))
        guard case .indirect(let request) = try BlkifRequest.decode(memory.bytes, abi: .x86_32, limits: limits) else {
            return XCTFail("not indirect")
        }
        let page = exactBytes(count: 16)
        (0..<2).forEach { IndirectPageView(page.pointer).setSegment($0, to: Segment(grant: GrantRef(1))) }
        XCTAssertThrowsError(try segments(of: request, inPages: page.bytes)) { error in
            XCTAssertEqual((error as? RequestError)?.reason, .beyondCapacity(sector: Sector(0), count: 16, capacity: Sector(12)))
        }
    }

    func testCopiesShorterThanTheRequestsEntriesAreRefusedAsTruncated() {
        for abi in abis {
            let size = abi.layout.entrySize
            XCTAssertEqual(decodeError(UnsafeRawBufferPointer(start: nil, count: 0), abi: abi)?.reason, .truncated(needed: size, available: 0))
            let short = exactBytes(count: size - 1)
            XCTAssertEqual(decodeError(short.bytes, abi: abi)?.reason, .truncated(needed: size, available: size - 1), "\(abi)")
            let twelve = request(abi, .read, segments: Array(repeating: Segment(grant: GrantRef(1)), count: 12))
            let header = exactBytes(copying: twelve.pointer, count: size)
            let error = decodeError(header.bytes, abi: abi, limits: RequestLimits(maximumSegments: 12))
            // The twelfth segment, the first of the segment block, lies past the header entry.
            let needed = abi.layout.requestSegments + 12 * BlkifLayout.segmentSize
            XCTAssertEqual(error?.reason, .truncated(needed: needed, available: size), "\(abi)")
            XCTAssertEqual(error?.id, id, "the error still carries the id to answer")
        }
    }

    // MARK: Helpers

    /// A read/write/barrier/flush request copied out of exactly the entries it occupies, in
    /// exactly the bytes the copy takes.
    private func request(_ abi: ABI, _ operation: BlkifABI.Operation, segments: [Segment], sector: UInt64 = 0) -> ExactBytes {
        let entries = abi.entriesForSegments(segments.count)
        let memory = exactBytes(count: entries * abi.layout.entrySize)
        RingEntries(contiguous: memory.pointer, count: entries, abi: abi).writeRequest(
            operation: operation, handle: DeviceHandle(1), id: id, sector: Sector(sector), segments: segments)
        return requestCopy(of: memory.pointer, entries: entries, abi: abi)
    }

    /// A discard in one entry.
    private func discard(_ abi: ABI, sector: UInt64, count: UInt64) -> ExactBytes {
        let memory = exactBytes(count: abi.layout.entrySize)
        DiscardRequestView(memory.pointer, abi: abi).write(flags: [], handle: DeviceHandle(1), id: id, sector: Sector(sector), sectorCount: count)
        return memory
    }

    /// An indirect request in one entry.
    private func indirect(_ abi: ABI, operation: BlkifABI.Operation, count: Int) -> ExactBytes {
        let memory = exactBytes(count: abi.layout.entrySize)
        IndirectRequestView(memory.pointer, abi: abi).write(
            indirectOperation: operation, segmentCount: UInt16(count), handle: DeviceHandle(1), id: id, sector: Sector(0),
            grants: [GrantRef(9)])
        return memory
    }

    private func decodeError(_ memory: ExactBytes, abi: ABI, limits: RequestLimits = RequestLimits(), line: UInt = #line) -> RequestError? {
        decodeError(memory.bytes, abi: abi, limits: limits, line: line)
    }

    /// The error decoding `bytes` throws; fails the test if it decodes.
    private func decodeError(_ bytes: UnsafeRawBufferPointer, abi: ABI, limits: RequestLimits = RequestLimits(), line: UInt = #line) -> RequestError? {
        do {
            let request = try BlkifRequest.decode(bytes, abi: abi, limits: limits)
            XCTFail("\(abi): decoded \(request.operation) where an error was expected", line: line)
        } catch {
            XCTAssertFalse(error.description.isEmpty)
            return error
        }
        return nil
    }

    private func assertDescription(_ error: RequestError?, contains text: String, line: UInt = #line) {
        let description = error.map(\.description) ?? "no error"
        XCTAssertTrue(description.contains(text), "\"\(description)\" should name \"\(text)\"", line: line)
        XCTAssertTrue(description.contains("request \(id.rawValue)"), "\"\(description)\" should name the request", line: line)
    }
}
