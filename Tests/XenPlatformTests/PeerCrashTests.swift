// The peer killed with SIGKILL while it maps our pages or waits on a port, a thousand times.

import BlkifABI
import Foundation
import XCTest
import XenPlatform
import XenStore

final class PeerCrashTests: XCTestCase {
    /// How long the survivor may take to see the peer's death.
    static let noticeBound = Duration.seconds(2)

    /// Each cycle starts a peer (domain 0), connects both ways, kills the peer with SIGKILL while
    /// it maps our pages and waits on a port (even cycles) or while we map its pages and it waits
    /// (odd cycles). We must see a closed channel within ``noticeBound``, end or unmap what we
    /// held, and after the thousand cycles hold no more descriptors or mappings than after the
    /// first hundred (counted in /proc/self/fd and /proc/self/maps).
    func testAThousandConnectKillCyclesLeakNothing() throws {
        let directory = try SocketDirectory()
        let platform = try LoopbackPlatform(domain: DomainID(1), directory: directory.path)
        defer { platform.close() }
        let cycles = 1_000, settled = 100
        var baseline: (descriptors: Int, mappings: Int)?
        let start = ContinuousClock.now
        for cycle in 0..<cycles {
            if cycle == settled { baseline = try Self.resources() }
            let peer = try PeerProcess(domain: 0, directory: directory.path)
            if cycle % 2 == 0 {
                try killWhileMappingOurPages(peer, platform, cycle: cycle)
            } else {
                try killWhileWaitingOnItsPort(peer, platform, cycle: cycle)
            }
        }
        let after = try Self.resources()
        print("crash cycles: \(cycles) in \(ContinuousClock.now - start); descriptors \(baseline!.descriptors) → \(after.descriptors), mappings \(baseline!.mappings) → \(after.mappings)")
        XCTAssertLessThanOrEqual(after.descriptors, baseline!.descriptors, "descriptors grew over \(cycles - settled) cycles")
        XCTAssertLessThanOrEqual(after.mappings, baseline!.mappings + 4, "mappings grew over \(cycles - settled) cycles")
    }

    /// We grant and offer a port; the peer maps and binds, then waits and is killed.
    private func killWhileMappingOurPages(_ peer: PeerProcess, _ platform: LoopbackPlatform, cycle: Int) throws {
        let pages = try platform.share(pageCount: 2, with: .dom0, access: .readWrite)
        let port = try platform.allocateUnboundPort(for: .dom0)
        defer { port.close() }
        let mapped = try peer.words("map 1 rw \(pages.refs.map { "\($0.rawValue)" }.joined(separator: " "))")[0]
        let bound = try peer.words("bind 1 \(port.port.rawValue)")[0]
        try peer.run("fill \(mapped) \(cycle)")
        peer.send("wait \(bound) 30000")
        try peer.kill()
        try expectClosed(port, cycle: cycle)
        let deadline = ContinuousClock.now + Self.noticeBound
        while true {  // the server thread releases the dead peer's marks as soon as it sees the hang-up
            do throws(PlatformError) {
                try platform.endSharing(pages)
                break
            } catch {
                guard case .stillMapped = error, ContinuousClock.now < deadline else {
                    return XCTFail("cycle \(cycle): pages not released \(Self.noticeBound) after the peer died: \(error)")
                }
                usleep(500)
            }
        }
    }

    /// The peer grants and offers a port; we map and bind, it waits and is killed.
    private func killWhileWaitingOnItsPort(_ peer: PeerProcess, _ platform: LoopbackPlatform, cycle: Int) throws {
        let shared = try peer.words("share 1 rw 2")
        let offered = try peer.words("unbound 1")
        let view = try platform.map(shared.dropFirst().map { GrantRef(UInt32($0)!) }, grantedBy: .dom0, access: .readWrite)
        let port = try platform.bind(to: .dom0, port: EventPort(UInt32(offered[1])!))
        defer { port.close() }
        peer.send("wait \(offered[0]) 30000")
        try peer.kill()
        try expectClosed(port, cycle: cycle)
        view.base.storeBytes(of: 1, as: UInt8.self)  // the dead granter's memory stays valid until we unmap
        try platform.unmap(view)
    }

    private func expectClosed(_ port: LoopbackEventPort, cycle: Int) throws {
        let start = ContinuousClock.now
        XCTAssertThrowsError(try port.waitForEvent(timeout: Self.noticeBound), "cycle \(cycle)") { error in
            XCTAssertEqual(error as? PlatformError, .peerClosed(port.port), "cycle \(cycle)")
        }
        XCTAssertLessThan(ContinuousClock.now - start, Self.noticeBound, "cycle \(cycle)")
    }

    /// Open descriptors and mapped regions of this process.
    static func resources() throws -> (descriptors: Int, mappings: Int) {
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        return (descriptors, maps.split(separator: "\n").count)
    }
}
