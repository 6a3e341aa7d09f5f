// Event channels between two processes: coalescing, timeouts, a seeded stress, async waits.

import Foundation
import XCTest
import XenPlatform
import XenStore

final class EventChannelTwoProcessTests: TwoProcessTestCase {
    /// Our port for domain 0, bound by the peer; returns it and the peer's handle for its end.
    private func boundPort() throws -> (port: LoopbackEventPort, peerHandle: String) {
        let port = try platform.allocateUnboundPort(for: .dom0)
        return (port, try peer.words("bind 1 \(port.port.rawValue)")[0])
    }

    /// Five notifications sent while none is being waited for wake the waiter once, and all
    /// five are counted as taken in; the next wait times out.
    func testNotificationsCoalesceWhilePending() throws {
        let (port, handle) = try boundPort()
        for _ in 0..<5 { try port.signal() }
        XCTAssertEqual(try peer.run("wait \(handle) 2000"), "event")
        XCTAssertEqual(try peer.run("wait \(handle) 50"), "timeout")
        XCTAssertEqual(try peer.run("counters \(handle)"), "sent 0 wakes 1 received 5")
        try peer.run("notify \(handle)")
        try peer.run("notify \(handle)")
        XCTAssertTrue(try port.waitForEvent(timeout: .seconds(2)))
        XCTAssertFalse(try port.waitForEvent(timeout: .milliseconds(20)))
        XCTAssertEqual([port.eventsReceived, port.notificationsReceived, port.notificationsSent], [1, 2, 5])
    }

    /// A wait with nothing sent returns `false` after its timeout, not much later (blocking and async).
    func testAWaitThatTimesOutReturnsInTime() async throws {
        let (port, _) = try boundPort()
        for timeout in [Duration.milliseconds(1), .milliseconds(30), .milliseconds(120)] {
            var start = ContinuousClock.now
            XCTAssertFalse(try port.waitForEvent(timeout: timeout))
            var took = ContinuousClock.now - start
            XCTAssertTrue(took >= timeout && took < timeout + .milliseconds(250), "blocking wait of \(timeout) took \(took)")
            start = ContinuousClock.now
            let notified = try await port.nextEvent(timeout: timeout)
            took = ContinuousClock.now - start
            XCTAssertFalse(notified)
            XCTAssertTrue(took >= timeout && took < timeout + .milliseconds(250), "async wait of \(timeout) took \(took)")
        }
    }

    /// Two processes (both peers) notify and wait on each other under a seeded schedule of bursts
    /// and delays: every wait for an owed notification is bounded, and the receiver takes in
    /// exactly as many notifications as were sent.
    func testSeededStressLosesNoNotification() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["XENPLATFORM_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64(UInt32.max))
        let notifications = 100_000
        let sender = try PeerProcess(domain: 2, directory: directory.path)
        let page = try sender.words("share 0 rw 1")
        let senderPort = try sender.words("unbound 0")
        let mapped = try peer.words("map 2 rw \(page[1])")[0]
        let echoPort = try peer.words("bind 2 \(senderPort[1])")[0]
        peer.send("echo-events \(echoPort) \(mapped) \(notifications) \(seed &+ 1)")
        let sent = try sender.words("send-events \(senderPort[0]) \(page[0]) \(notifications) \(seed)")
        let echoed = try peer.collect().split(separator: " ").map(String.init)
        // sender: sent S wakes W received R; echo: wakes W received R sent S
        XCTAssertEqual(sent[1], "\(notifications)", "seed \(seed)")
        XCTAssertEqual(echoed[3], "\(notifications)", "the echo took in every notification (seed \(seed)): \(echoed)")
        let (wakes, received) = (Int(echoed[1])!, Int(echoed[3])!)
        XCTAssertLessThanOrEqual(wakes, received, "seed \(seed)")
        print("event stress, seed \(seed): \(notifications) notifications woke the echo \(wakes) times (\(received - wakes) coalesced); sender: \(sent)")
        try sender.kill()
    }

    /// Many ports awaited at once from Swift concurrency hold no thread each: one reactor thread
    /// serves them all; every task wakes when the peer notifies its port.
    func testManyPortsAwaitedWithoutAThreadEach() async throws {
        let count = 64
        var ports: [LoopbackEventPort] = []
        var handles: [String] = []
        for _ in 0..<count {
            let (port, handle) = try boundPort()
            ports.append(port)
            handles.append(handle)
        }
        let threadsBefore = try Self.threadCount()
        let awaited = ports
        let woken = try await withThrowingTaskGroup(of: Bool.self) { group in
            for port in awaited {
                group.addTask { try await port.nextEvent(timeout: .seconds(20)) }
            }
            try await Task.sleep(for: .milliseconds(100))  // every task is suspended in the reactor now
            let threadsWaiting = try Self.threadCount()
            // at most the reactor and the cooperative pool's threads (one per core) may appear
            let allowed = threadsBefore + 1 + ProcessInfo.processInfo.activeProcessorCount
            XCTAssertLessThanOrEqual(threadsWaiting, allowed, "\(count) awaited ports must not hold a thread each")
            for handle in handles { try peer.run("notify \(handle)") }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(woken, count)
    }

    /// Closing one end is seen at the other as a closed channel, blocking or async.
    func testClosingAnEndIsSeenByTheOther() async throws {
        let (port, handle) = try boundPort()
        try peer.run("close \(handle)")
        XCTAssertThrowsError(try port.waitForEvent(timeout: .seconds(5))) { XCTAssertEqual($0 as? PlatformError, .peerClosed(port.port)) }
        do {
            _ = try await port.nextEvent(timeout: .seconds(5))
            XCTFail("a closed channel must throw")
        } catch {
            XCTAssertEqual(error, .peerClosed(port.port))
        }
        port.close()
        XCTAssertThrowsError(try port.signal()) { XCTAssertEqual($0 as? PlatformError, .noSuchPort(port.port)) }
    }

    /// Binding is refused for a port never offered, offered to another domain, or already bound.
    func testBindErrorsNameThePort() throws {
        let forOther = try peer.words("unbound 7")
        XCTAssertThrowsError(try platform.bind(to: .dom0, port: EventPort(UInt32(forOther[1])!))) { error in
            XCTAssertEqual(error as? PlatformError, .portNotOffered(EventPort(UInt32(forOther[1])!), by: .dom0))
        }
        XCTAssertThrowsError(try platform.bind(to: .dom0, port: EventPort(999))) { error in
            XCTAssertEqual(error as? PlatformError, .portNotOffered(EventPort(999), by: .dom0))
        }
        let offered = try peer.words("unbound 1")
        let bound = try platform.bind(to: .dom0, port: EventPort(UInt32(offered[1])!))
        XCTAssertThrowsError(try platform.bind(to: .dom0, port: EventPort(UInt32(offered[1])!))) { error in
            XCTAssertEqual(error as? PlatformError, .portNotOffered(EventPort(UInt32(offered[1])!), by: .dom0))
        }
        try bound.signal()
        XCTAssertEqual(try peer.run("wait \(offered[0]) 2000"), "event")
    }

    /// Threads of this process now.
    static func threadCount() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Threads:") }),
              let count = Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces))
        else { throw PeerError("no Threads line in /proc/self/status") }
        return count
    }
}
