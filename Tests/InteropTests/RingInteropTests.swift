// Our rings against Xen's own ring.h macros in another process, both ends, both ABIs.

import BlkifABI
import BlkifRing
import Foundation
import XCTest

/// Interop across processes: a C peer built with `cc -m64`/`-m32` from `<xen/io/ring.h>` and
/// `<xen/io/blkif.h>` plays the other end of the same shared file. Every run starts the
/// indexes at 2^32 - 999 (so it crosses the wrap), mixes every operation including multi-entry
/// requests of up to 255 segments, and checks every field of every request and response, in
/// order, on both ends. `BLKIF_RING_SOAK=1` runs a million requests in every configuration.
final class RingInteropTests: XCTestCase {
    static let soak = ProcessInfo.processInfo.environment["BLKIF_RING_SOAK"] == "1"
    static let million = 1_000_000
    static let abis = [ABI.x86_64, .x86_32]
    static let directions = [RingRunConfiguration.Ends.ourFrontCBack, .cFrontOurBack]

    /// A million requests, polling, on a representative set that covers both ABIs, both
    /// directions and both 1 and 16 pages (4 runs; all 8 combinations with `BLKIF_RING_SOAK=1`).
    func testMillionRequestsOnOneAndSixteenPages() throws {
        let representative: [(ABI, Int, RingRunConfiguration.Ends)] = [
            (.x86_64, 1, .ourFrontCBack), (.x86_64, 16, .cFrontOurBack),
            (.x86_32, 1, .cFrontOurBack), (.x86_32, 16, .ourFrontCBack),
        ]
        guard !Self.soak else { return try runAll(pages: [1, 16], requests: Self.million, mode: .poll) }
        for (abi, pages, ends) in representative {
            let configuration = RingRunConfiguration(ends: ends, abi: abi, pages: pages, requests: Self.million)
            XCTAssertNoThrow(try RingRunner.run(configuration), "\(configuration)")
        }
    }

    /// The other half of the 1- and 16-page matrix at 100,000 requests each (4 runs).
    func testHundredThousandRequestsOnOneAndSixteenPages() throws {
        let others: [(ABI, Int, RingRunConfiguration.Ends)] = [
            (.x86_64, 1, .cFrontOurBack), (.x86_64, 16, .ourFrontCBack),
            (.x86_32, 1, .ourFrontCBack), (.x86_32, 16, .cFrontOurBack),
        ]
        for (abi, pages, ends) in others where !Self.soak {
            let configuration = RingRunConfiguration(ends: ends, abi: abi, pages: pages, requests: 100_000)
            XCTAssertNoThrow(try RingRunner.run(configuration), "\(configuration)")
        }
    }

    /// 2, 4 and 8 pages, both ABIs, both directions, polling: 100,000 requests each (12 runs).
    func testHundredThousandRequestsOnTwoFourAndEightPages() throws {
        try runAll(pages: [2, 4, 8], requests: Self.soak ? Self.million : 100_000, mode: .poll)
    }

    /// Event-driven ends (shared futexes), 1, 2, 4, 8 and 16 pages, both ABIs, both directions:
    /// 20,000 requests each (20 runs).
    func testEventDrivenEndsOnEveryRingSize() throws {
        try runAll(pages: [1, 2, 4, 8, 16], requests: Self.soak ? Self.million : 20_000, mode: .event)
    }

    private func runAll(pages: [Int], requests: Int, mode: RingPacing.Mode) throws {
        for abi in Self.abis {
            for count in pages {
                for ends in Self.directions {
                    let configuration = RingRunConfiguration(ends: ends, abi: abi, pages: count, requests: requests, mode: mode)
                    XCTAssertNoThrow(try RingRunner.run(configuration), "\(configuration)")
                }
            }
        }
    }
}
