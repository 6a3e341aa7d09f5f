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

    /// The same with the data copied by the platform (`--data-path copying`): the frontend asks
    /// for persistent grants and is not offered them, nothing but the ring is mapped, and every
    /// segment and indirect page is a grant copy.
    func testFrontendVerifiesThroughGrantCopies() throws {
        for (bits, ringPages) in [(CPeerBits.m64, 4), (.m32, 1)] {
            try verify(bits: bits, persistent: true, ringPages: ringPages, options: ["--data-path", "copying"]) { backend in
                XCTAssertTrue(backend.text.contains("data copying"), backend.text)
                backend.stop()
                let summary = try backend.waitForLine("the summary") { $0.contains("answered=") }
                XCTAssertTrue(summary.contains("grant-mappings=0 "), "nothing but the ring is mapped: \(summary)")
                let copies = summary.split(separator: " ").first { $0.hasPrefix("grant-copies=") }.flatMap { Int($0.dropFirst(13)) }
                XCTAssertGreaterThan(copies ?? 0, 300, "every segment copied: \(summary)")
                XCTAssertTrue(summary.contains("refused=0 grant-failures=0 storage-failures=0"), "\(summary)")
            }
        }
    }

    /// Runs the C frontend's verify against `blkif serve OPTIONS`; `afterwards` looks at the
    /// backend before everything is stopped.
    private func verify(bits: CPeerBits, persistent: Bool, ringPages: Int, options: [String] = [],
                        afterwards: (LoggedProcess) throws -> Void = { _ in }) throws {
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
        try afterwards(backend)
    }
}
