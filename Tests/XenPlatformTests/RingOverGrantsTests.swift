// BlkifRing's two ends in two processes, over ring pages granted and mapped through XenPlatform.

import XCTest

final class RingOverGrantsTests: XCTestCase {
    /// The front (domain 1) grants a 4-page ring and an unbound port to the back (domain 0), which
    /// maps the pages and binds the port, as a backend does from `ring-ref0..3` and
    /// `event-channel`; then a million requests of 1-11 segments go round, every request and
    /// every response checked in order, every wait bounded (a lost wakeup fails the run).
    func testAMillionRequestsRoundTheGrantedRing() throws {
        let directory = try SocketDirectory()
        let front = try PeerProcess(domain: 1, directory: directory.path)
        let back = try PeerProcess(domain: 0, directory: directory.path)
        let requests = 1_000_000
        let ring = try front.words("share 0 rw 4")
        let port = try front.words("unbound 0")
        let mapped = try back.words("map 1 rw \(ring.dropFirst().joined(separator: " "))")[0]
        let backPort = try back.words("bind 1 \(port[1])")[0]
        let start = ContinuousClock.now
        back.send("ring-back \(backPort) \(mapped) \(requests)")
        let frontReport = try front.run("ring-front \(port[0]) \(ring[0]) \(requests)", timeout: .seconds(120))
        let backReport = try back.collect(timeout: .seconds(30))
        XCTAssertTrue(frontReport.hasPrefix("front \(requests) responses"), frontReport)
        XCTAssertTrue(backReport.hasPrefix("back \(requests) requests"), backReport)
        print("ring over grants: \(requests) requests in \(ContinuousClock.now - start); \(frontReport); \(backReport)")
        try back.run("unmap \(mapped)")
        try front.run("end \(ring[0])")
    }
}
