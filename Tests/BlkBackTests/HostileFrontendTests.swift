// A frontend process that writes garbage: refused requests, a throttled event flood, a closed
// device; the same backend process keeps serving its other device.

import Foundation
import TestSupport
import XCTest

final class HostileFrontendTests: XCTestCase {
    func testHostileFrontendGetsErrorsThenAClosedDeviceWhileTheOtherDeviceKeepsServing() throws {
        let harness = try ServeHarness()
        defer { harness.shutDown() }
        let victim = try harness.image("victim.img", sectors: 4096), other = try harness.image("other.img", sectors: 8192)
        let backend = try harness.serve([victim, other], domains: [1, 2])

        let hostile = try harness.frontend(.m64, mode: "hostile", domain: 1, device: 51712, seed: 1, count: 2000)
        try hostile.waitForLine("the flood's start") { $0 == "flooding" }
        let before = backend.cpuSeconds
        try hostile.waitForLine("the flood's end") { $0.hasPrefix("flooded ") }
        let spent = backend.cpuSeconds - before
        XCTAssertEqual(try hostile.finish(), 0, hostile.text)
        for refusal in ["unknown operation 99: -2", "nr_segments 200: -1", "last_sect 9: -1", "an ungranted reference: -1",
                        "sectors past the end: -1", "discard of 0 sectors: -1"] {
            XCTAssertTrue(hostile.text.contains("refused \(refusal)"), hostile.text)
        }
        let closed = try hostile.waitForLine("the closed device") { $0.hasPrefix("closed ") }
        XCTAssertTrue(closed.contains("req_prod") || closed.contains("request producer") || closed.contains("ring"), String(closed))
        // Two seconds of notifications with nothing on the ring: slowed down, not a busy loop.
        XCTAssertLessThan(spent, 1.0, "the backend spent \(spent) s of CPU during a 2 s event flood")

        let good = try harness.frontend(.m64, mode: "verify", domain: 2, device: 51728, seed: 7, count: 200)
        XCTAssertEqual(try good.finish(), 0, good.text)
        XCTAssertTrue(backend.isRunning, backend.text)
        let listing = try harness.blkif(["devices"])
        XCTAssertTrue(listing.contains("frontend-domain=1 device=51712") && listing.contains("backend-error=frontend broke the ring protocol"),
                      listing)
        XCTAssertTrue(listing.contains("frontend-domain=2 device=51728") && listing.contains("backend-state=Connected"), listing)
        backend.stop()  // SIGTERM: serve prints each device's counters
        let victimSummary = backend.text.split(separator: "\n").first { $0.hasPrefix("vbd 51712 of domain 1") } ?? ""
        let throttled = victimSummary.split(separator: " ").first { $0.hasPrefix("throttled-wakes=") }
            .flatMap { Int($0.dropFirst("throttled-wakes=".count).prefix { $0.isNumber }) } ?? 0
        XCTAssertGreaterThan(throttled, 0, "the flood was not throttled: \(backend.text)")
        // The summary names the first refusal: the unknown operation the hostile frontend sent first.
        XCTAssertTrue(victimSummary.contains("first-refusal=\"") && victimSummary.contains("99"), String(victimSummary))
    }

    /// A ring whose request producer is already past it when the frontend connects: the backend
    /// refuses the connection with an error node naming the indexes, keeps nothing of it (its
    /// event channel closed, its ring unmapped: no descriptor left open), and serves the next
    /// frontend of the same device.
    func testARingBrokenAtConnectIsRefusedAndLeavesNothingOpen() throws {
        let harness = try ServeHarness()
        defer { harness.shutDown() }
        let backend = try harness.serve([try harness.image("disk.img", sectors: 4096)], domains: [1])
        func refusedConnection(_ round: UInt64) throws {
            let peer = try harness.frontend(.m64, mode: "badring", domain: 1, seed: round, count: 0)
            XCTAssertEqual(try peer.finish(), 0, peer.text)
            XCTAssertTrue(peer.text.contains("refused ") && peer.text.contains("\(5 * 32 + 3)"), peer.text)
        }
        // The first refusal opens what the backend keeps for a frontend domain; later ones add nothing.
        try refusedConnection(0)
        let settled = try openDescriptors(of: backend.pid)
        for round in UInt64(1)...4 { try refusedConnection(round) }
        XCTAssertEqual(try openDescriptors(of: backend.pid), settled, "descriptors left open by four refused connections")

        let good = try harness.frontend(.m64, mode: "verify", domain: 1, seed: 7, count: 100)
        XCTAssertEqual(try good.finish(), 0, good.text)
        XCTAssertTrue(backend.isRunning, backend.text)
    }

    /// The descriptors process `pid` has open (its /proc fd directory, read a few times until two
    /// reads agree, so that a descriptor being closed as it is read does not count).
    private func openDescriptors(of pid: Int32) throws -> Int {
        var last = -1
        for _ in 0..<50 {
            let now = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
            if now == last { return now }
            last = now
            usleep(20_000)
        }
        return last
    }
}
