// kill -9 the backend during a write workload: every write acknowledged before a completed flush
// reads back after a restart.

import Foundation
import TestSupport
import XCTest

final class DurabilityTests: XCTestCase {
    func testWritesAcknowledgedBeforeAFlushSurviveKillingTheBackend() throws {
        let harness = try ServeHarness()
        defer { harness.shutDown() }
        let image = try harness.image("disk.img", sectors: 524_288)
        let backend = try harness.serve([image], domains: [1])
        let seed = ServeHarness.seed()
        let writer = try harness.frontend(.m64, mode: "durable", domain: 1, seed: seed, count: 0)
        try writer.waitForLine("200 durable blocks") { $0.hasPrefix("durable ") && (Int($0.dropFirst(8)) ?? 0) >= 200 }
        backend.stop(SIGKILL)
        let durable = writer.text.split(separator: "\n").filter { $0.hasPrefix("durable ") }.compactMap { Int($0.dropFirst(8)) }.max() ?? 0
        writer.stop(SIGKILL)
        XCTAssertFalse(writer.text.contains("done"), "the workload ended before the kill; make the disk larger")

        let restarted = try harness.serve([image], domains: [1])
        let reader = try harness.frontend(.m64, mode: "check", domain: 1, seed: seed, count: durable)
        XCTAssertEqual(try reader.finish(), 0, "seed \(seed) (BLKBACK_SEED replays it), \(durable) blocks:\n\(reader.text)")
        XCTAssertTrue(reader.text.contains("ok check \(durable)"), reader.text)
        XCTAssertTrue(restarted.isRunning, restarted.text)
    }
}
