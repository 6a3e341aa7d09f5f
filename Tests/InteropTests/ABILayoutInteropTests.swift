// Our layouts against the C compiler's, for every structure and both ABIs.

import BlkifABI
import TestSupport
import XCTest

/// Compares every offset and size of `<xen/io/blkif.h>` compiled with `cc -m64` and `cc -m32`
/// with ``BlkifLayout``, ``SharedRing`` and ``RingGeometry``.
final class ABILayoutInteropTests: XCTestCase {
    func testEveryOffsetAndSizeMatchesTheCCompilerInEveryABI() throws {
        for abi in ABI.allCases {
            let measured = try ABILayoutProgram.layout(of: abi)
            let expected = try ABIExpectedLayout.table(for: abi)
            XCTAssertEqual(
                Set(measured.keys), Set(expected.keys), "\(abi): the C program and our table must list the same fields")
            for (name, values) in measured.sorted(by: { $0.key < $1.key }) {
                XCTAssertEqual(expected[name], values, "\(abi) (cc \(ABILayoutProgram.bits(for: abi))): \(name) [offset, size]")
            }
        }
    }

    /// The bug class this suite exists for: a backend reading an x86_32 discard's `nr_sectors`
    /// at the x86_64 offset (24 instead of 20).
    func testDiscardSectorCountIsAt20OnX86_32AndAt24OnX86_64InCAndInOurLayout() throws {
        let expected: [ABI: Int] = [.x86_32: 20, .x86_64: 24]
        for (abi, offset) in expected {
            XCTAssertEqual(try ABILayoutProgram.layout(of: abi)["discard.nr_sectors"], [offset, 8], "cc for \(abi)")
            XCTAssertEqual(abi.layout.discardSectorCount, offset, "our \(abi) layout")
        }
    }

    func testRingOfOneToSixteenPagesHolds32To512EntriesPerConstRingSizeInBothABIs() throws {
        let expected = [1: 32, 2: 64, 4: 128, 8: 256, 16: 512]
        for abi in [ABI.x86_32, .x86_64] {
            let measured = try ABILayoutProgram.layout(of: abi)
            for (pages, entries) in expected {
                XCTAssertEqual(measured["ring_entries.\(pages)"], [entries], "__CONST_RING_SIZE(blkif, \(pages) * 4096) for \(abi)")
                XCTAssertEqual(try RingGeometry(pageCount: pages, abi: abi).entryCount, entries, "\(pages)-page \(abi) geometry")
            }
        }
    }

    func testNativeABIHasTheLayoutOfThisHostsCCompiler() throws {
        XCTAssertEqual(try ABILayoutProgram.layout(of: .native), try ABIExpectedLayout.table(for: .native))
        XCTAssertEqual(ABI.native.layout, ABI.x86_64.layout, "tests run on an x86_64 host")
    }
}
