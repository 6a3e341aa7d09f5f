// Ring sizes and the entries a request occupies.

import BlkifABI
import TestSupport
import XCTest

final class GeometryTests: ABITestCase {
    func testRingsOfOneToSixteenPagesHold32To512EntriesInBothABIs() throws {
        let expected = [1: 32, 2: 64, 4: 128, 8: 256, 16: 512]
        for abi in ABI.allCases {
            for (pages, entries) in expected {
                let byCount = try RingGeometry(pageCount: pages, abi: abi)
                let byOrder = try RingGeometry(pageOrder: pages.trailingZeroBitCount, abi: abi)
                XCTAssertEqual(byCount, byOrder)
                XCTAssertEqual(byCount.entryCount, entries, "\(pages)-page \(abi) ring")
                XCTAssertEqual(byCount.maximumRequests, entries)
                XCTAssertEqual(byCount.byteCount, pages * 4096)
            }
        }
    }

    func testPageCountsThatAreNotPowersOfTwoOrAboveSixteenAreTypedErrors() {
        for count in [0, -1, 3, 6, 12] {
            XCTAssertThrowsError(try RingGeometry(pageCount: count, abi: .x86_64)) { error in
                XCTAssertEqual(error as? GeometryError, .pageCountNotPowerOfTwo(count))
            }
        }
        for (count, order) in [(32, 5), (1 << 20, 20)] {
            XCTAssertThrowsError(try RingGeometry(pageCount: count, abi: .x86_32)) { error in
                XCTAssertEqual(error as? GeometryError, .pageOrderOutOfRange(order))
            }
        }
        XCTAssertThrowsError(try RingGeometry(pageOrder: -1, abi: .x86_32)) { error in
            XCTAssertEqual(error as? GeometryError, .pageOrderOutOfRange(-1))
            XCTAssertTrue("\(error)".contains("-1"))
        }
    }

    func testEntryCountIsTheLargestPowerOfTwoOfEntriesThatFitAfterTheHeader() {
        forEachCase(quick: 2_000) { random in
            let entrySize = random.int(in: 1...256)
            let ringBytes = random.int(in: 0...(1 << 20))
            let count = RingGeometry.entryCount(ringBytes: ringBytes, entrySize: entrySize)
            let fitting = max(0, (ringBytes - RingGeometry.headerSize) / entrySize)
            if fitting == 0 {
                XCTAssertEqual(count, 0, "\(ringBytes) bytes, \(entrySize)-byte entries")
            } else {
                XCTAssertEqual(count.nonzeroBitCount, 1, "a power of two")
                XCTAssertTrue(count <= fitting && fitting < 2 * count, "\(count) for \(fitting) fitting entries")
            }
        }
    }

    func testSegmentBlocksHold14SegmentsOnX86_64And13OnX86_32() {
        XCTAssertEqual(ABI.x86_64.layout.segmentsPerBlock, 14)
        XCTAssertEqual(ABI.x86_32.layout.segmentsPerBlock, 13)
        XCTAssertEqual(ABI.native.layout.segmentsPerBlock, 14)
    }

    func testEntriesForSegmentsCountsOneHeaderAndThe14Or13SegmentBlocksAfterIt() {
        let table: [(segments: Int, x86_64: Int, x86_32: Int)] = [
            (0, 1, 1), (1, 1, 1), (11, 1, 1), (12, 2, 2), (24, 2, 2), (25, 2, 3), (26, 3, 3), (39, 3, 4),
            (40, 4, 4), (255, 19, 20),
        ]
        for row in table {
            XCTAssertEqual(ABI.x86_64.entriesForSegments(row.segments), row.x86_64, "\(row.segments) segments, x86_64")
            XCTAssertEqual(ABI.x86_32.entriesForSegments(row.segments), row.x86_32, "\(row.segments) segments, x86_32")
        }
    }

    func testEntriesForSegmentsIsTheFewestEntriesThatHoldEverySegment() {
        for abi in ABI.allCases {
            let perBlock = abi.layout.segmentsPerBlock
            for segments in 0...ABI.maximumBlockSegments {
                let entries = abi.entriesForSegments(segments)
                let capacity = { (entries: Int) in ABI.segmentsPerHeader + (entries - 1) * perBlock }
                XCTAssertGreaterThanOrEqual(capacity(entries), segments, "\(abi), \(segments) segments")
                if entries > 1 { XCTAssertLessThan(capacity(entries - 1), segments, "\(abi), \(segments) segments") }
            }
        }
    }
}
