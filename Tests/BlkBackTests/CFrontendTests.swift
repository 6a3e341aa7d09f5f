// `blkif serve` against a frontend that is not ours: C, from Xen's headers, both ABIs.

import Foundation
import TestSupport
import XCTest

final class CFrontendTests: XCTestCase {
    /// Random reads, writes, barriers, flushes, discards and indirect requests of 1 sector to
    /// 16 KiB…128 KiB at random offsets, each read checked against what was written, then the
    /// whole disk read back: x86_64 layout, persistent grants, a 4-page ring.
    func testSixtyFourBitFrontendWithPersistentGrantsVerifiesRandomIO() throws {
        try verify(bits: .m64, persistent: true, ringPages: 4)
    }

    /// The same with the x86_32 layout, grants mapped per request and a 1-page ring.
    func testThirtyTwoBitFrontendWithoutPersistentGrantsVerifiesRandomIO() throws {
        try verify(bits: .m32, persistent: false, ringPages: 1)
    }

    /// The same through I/O threads (several requests in flight against the file).
    func testFrontendVerifiesThroughIOThreads() throws {
        try verify(bits: .m64, persistent: true, ringPages: 2, options: ["--io-threads", "3"])
    }

    private func verify(bits: CPeerBits, persistent: Bool, ringPages: Int, options: [String] = []) throws {
        let seed = ServeHarness.seed()
        let harness = try ServeHarness()
        defer { harness.shutDown() }
        let backend = try harness.serve([try harness.image("disk.img", sectors: 8192)], domains: [1], options: options)
        let frontend = try harness.frontend(bits, mode: "verify", domain: 1, seed: seed, count: 300, persistent: persistent, ringPages: ringPages)
        let status = try frontend.finish()
        XCTAssertEqual(status, 0, "seed \(seed) (BLKBACK_SEED=\(seed) replays it):\n\(frontend.text)\nbackend:\n\(backend.text)")
        XCTAssertTrue(frontend.text.contains("ok verify requests="), "seed \(seed):\n\(frontend.text)")
        XCTAssertTrue(frontend.text.contains("abi=\(bits.rawValue)"), frontend.text)
        XCTAssertTrue(backend.isRunning, backend.text)
    }
}
