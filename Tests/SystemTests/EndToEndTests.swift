// The whole system in separate processes: blkif-xenstored, `blkif serve` (domain 0) and
// `blkif attach` (domain 1), meeting only through XenStore nodes and the loopback platform.

import Foundation
import Glibc
import TestSupport
import XCTest

final class EndToEndTests: XCTestCase {
    private var system: SystemHarness!

    override func setUpWithError() throws {
        system = try SystemHarness()
    }

    override func tearDown() {
        system?.tearDown()
        system = nil
    }

    /// The seed of the random operations: `BLKIF_SYSTEM_SEED`, else a fresh one (printed on failure).
    private let seed: UInt64 = ProcessInfo.processInfo.environment["BLKIF_SYSTEM_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...1_000_000)

    private func check(_ result: ChildResult, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 0, "\(label) (seed \(seed); BLKIF_SYSTEM_SEED replays):\n\(result.standardOutput)\n\(result.standardError)",
                       file: file, line: line)
    }

    func testSeededPatternReachesTheImageFileByteForByte() throws {
        try system.serve()
        // The frontend's granted pages bound to NUMA node 0 (every machine has one).
        let result = try system.attach(["verify", "--seed", String(seed), "--operations", "0", "--span", "8m", "--numa-node", "0"])
        check(result, "verify")
        try system.stopBackend()
        let written = try XCTUnwrap(FileHandle(forReadingAtPath: system.image)).readData(ofLength: 8 << 20)
        var pattern = PatternStream(seed: seed)
        XCTAssertTrue(written == pattern.bytes(8 << 20), "the image's first 8 MiB are not the frontend's pattern (seed \(seed))")
    }

    /// Every operation, random sizes (one sector to 1 MiB) at random offsets, checked against a
    /// model, in both ABIs, 1- and 16-page rings, one to four queues, persistent grants on and off,
    /// header-only, segment-block and indirect requests; one backend, reconnected each time.
    func testRandomOperationsAcrossABIsRingsQueuesAndGrantModes() throws {
        try system.serve()
        let matrix: [(arguments: [String], expect: [String])] = [
            (["--abi", "x86_64", "--ring-pages", "1", "--queues", "1"], ["1 queue(s) of 1-page x86_64 ring", "persistent-grants"]),
            (["--abi", "x86_32", "--ring-pages", "16", "--queues", "4", "--indirect-segments", "256", "--no-persistent-grants"],
             ["4 queue(s) of 16-page x86_32 ring", "1024 KiB per request (indirect)"]),
            (["--abi", "x86_64", "--ring-pages", "16", "--queues", "2", "--segments", "255"],
             ["2 queue(s) of 16-page x86_64 ring", "1020 KiB per request (segment blocks)", "persistent-grants"]),
            (["--abi", "x86_32", "--ring-pages", "4", "--queues", "3", "--segments", "64", "--no-persistent-grants"],
             ["3 queue(s) of 4-page x86_32 ring", "256 KiB per request (segment blocks)"]),
            (["--abi", "x86_64", "--ring-pages", "2", "--indirect-segments", "32", "--queue-depth", "4"],
             ["1 queue(s) of 2-page x86_64 ring", "128 KiB per request (indirect)"]),
        ]
        for (index, cell) in matrix.enumerated() {
            let arguments = ["verify", "--seed", String(seed &+ UInt64(index)), "--operations", "200", "--workers", "4", "--span", "16m"]
                + cell.arguments
            let result = try system.attach(arguments)
            check(result, "verify \(cell.arguments.joined(separator: " "))")
            for text in cell.expect {
                XCTAssertTrue(result.standardOutput.contains(text), "\(cell.arguments): expected \"\(text)\" in:\n\(result.standardOutput)")
            }
            XCTAssertTrue(result.standardOutput.contains("then the whole disk read back identical"), result.standardOutput)
        }
    }

    func testReadOnlyDiskAttachesAndRefusesWrites() throws {
        try system.serve(["--read-only"])
        let info = try system.attach(["info"])
        check(info, "info")
        XCTAssertTrue(info.standardOutput.contains("read-only"), info.standardOutput)
        let verify = try system.attach(["verify", "--operations", "0"])
        XCTAssertNotEqual(verify.status, 0)
        XCTAssertTrue(verify.standardError.contains("the disk is read-only"), verify.standardError)
    }

    /// Both engines report JSON (allocations per I/O are measured by `make bench-blkif` in an
    /// optimised build: a debug build allocates in unspecialised generic code).
    func testBenchReportsJSONFromBothEngines() throws {
        try system.serve()
        for engine in ["polled", "tasks"] {
            let result = try system.attach(["bench", "--rw", "rw", "--seconds", "2", "--json", "--engine", engine])
            check(result, "bench --engine \(engine)")
            let line = try XCTUnwrap(result.standardOutput.split(separator: "\n").last)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(report["rw"] as? String, "rw")
            XCTAssertEqual(report["engine"] as? String, engine)
            XCTAssertGreaterThan(report["iops"] as? Double ?? 0, 100)
            XCTAssertNotNil(report["p999_us"] as? Double)
            XCTAssertNotNil(report["allocations_per_io"] as? Double)
        }
    }

    /// A backend killed mid-workload: the frontend's pending and later I/O fail and it exits
    /// with the reason; nothing hangs (both engines).
    func testBackendKilledMidWorkloadFailsTheFrontendPromptly() throws {
        try killBackendMidWorkload(engine: "polled")
        try killBackendMidWorkload(engine: "tasks")
    }

    private func killBackendMidWorkload(engine: String) throws {
        try system.serve()
        try system.waitUntilFrontend(state: 1)  // the device, created afresh by this backend
        let bench = try system.startAttach(["bench", "--rw", "randwrite", "--seconds", "30", "--engine", engine])
        try system.waitUntilFrontend(state: 4)
        Thread.sleep(forTimeInterval: 1)  // I/O in flight
        try system.stopBackend(signal: SIGKILL)
        let killed = ContinuousClock.now
        let result = try bench.finish(timeout: .seconds(20))
        XCTAssertNotEqual(result.status, 0, result.standardOutput)
        XCTAssertTrue(result.standardError.contains("the device has failed"), result.standardError)
        XCTAssertLessThan(ContinuousClock.now - killed, .seconds(15), engine)
    }
}
