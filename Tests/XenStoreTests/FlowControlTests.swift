import Foundation
import Glibc
import Synchronization
import TestSupport
import XCTest
@testable import XenStore

/// Clients that send faster than they read: xenstored "reads and answers one message at a
/// time and queues the replies"; such a client is slowed, never dropped, and the server's
/// memory stays bounded while others are served.
final class FlowControlTests: XCTestCase {
    /// The case: one write of 300 READs of a 4085-byte value (1.2 MB of replies).
    func testPipelinedReadsOfABigValueAreAllAnsweredInOrder() throws {
        let fixture = try ServerFixture()
        defer { fixture.tearDown() }
        try fixture.server.store.write("/big", String(repeating: "v", count: 4085))
        let raw = try RawConnection(fixture.socketPath)
        let requests = (1...300).flatMap { WireMessage(.read, requestID: UInt32($0), payload: WireMessage.strings(["/big"])).encoded }
        raw.send(requests)
        let replies = try receiveAll(300, on: raw.fd, timeout: .seconds(20))
        XCTAssertEqual(replies.map(\.requestID), (1...300).map { UInt32($0) })
        XCTAssertTrue(replies.allSatisfy { $0.type == WireType.read.rawValue && $0.payload.count == 4085 })
    }

    /// Against `blkif-xenstored` in its own process: a client pipelines 2 MiB of requests
    /// (1,000 reads of a 4000-byte value, then small reads) and reads nothing for a while.
    /// Its writes stall, other clients are served at once, the server's peak resident memory
    /// grows by less than 16 MiB, and when it finally reads, every reply is there, in order.
    func testClientThatNeverReadsIsSlowedNotDroppedAndServerMemoryStaysBounded() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let dom0 = try XenStoreClient(socketPath: server.socketPath, timeout: .seconds(5))
        try dom0.write("/big", String(repeating: "v", count: 4000))
        try dom0.write("/s", "v")
        let baseline = try server.memory()

        let hostile = try RawConnection(server.socketPath)
        let requests = pipelinedRequests(totalBytes: 2 << 20)
        let sent = Progress()
        let writer = Thread { [fd = hostile.fd, bytes = requests.bytes] in Self.send(bytes, on: fd, progress: sent) }
        writer.start()
        let stalledAt = waitForStall(sent, total: requests.bytes.count)
        XCTAssertLessThan(stalledAt, requests.bytes.count, "the writer was never slowed")

        let started = ContinuousClock.now
        for index in 0..<50 {
            let path = try XenStorePath("/others/\(index)")
            try dom0.write(path, "x")
            XCTAssertEqual(try dom0.read(path), "x")
        }
        let tool = try ToolProcess.run("xenstore-read", ["/s"], socketPath: server.socketPath)
        XCTAssertEqual(tool.output, "v\n")
        let othersTook = ContinuousClock.now - started
        XCTAssertLessThan(othersTook, .seconds(5))
        let whileStalled = try server.memory()

        let replies = try receiveAll(requests.count, on: hostile.fd, timeout: .seconds(90))
        XCTAssertEqual(replies.count, requests.count)
        XCTAssertEqual(replies.last?.requestID, UInt32(requests.count))
        XCTAssertTrue(zip(replies, 1...).allSatisfy { $0.requestID == UInt32($1) }, "every reply, in order")
        let after = try server.memory()
        let growth = after.peakKiB - baseline.residentKiB
        print("flow control: \(requests.bytes.count) request bytes (\(requests.count) requests); writer stalled after "
              + "\(stalledAt) bytes; 100 other requests took \(othersTook); server RSS \(baseline.residentKiB) KiB at start, "
              + "\(whileStalled.residentKiB) KiB while stalled, peak \(after.peakKiB) KiB (growth \(growth) KiB)")
        XCTAssertLessThan(growth, 16 << 10, "the server's peak memory grew by \(growth) KiB")
    }

    // MARK: Helpers

    /// READ requests for `totalBytes`: 1,000 of `/big` first, then of `/s`; req_ids count from 1.
    private func pipelinedRequests(totalBytes: Int) -> (bytes: [UInt8], count: Int) {
        var bytes: [UInt8] = []
        var count = 0
        while bytes.count < totalBytes {
            count += 1
            let path = count <= 1000 ? "/big" : "/s"
            bytes += WireMessage(.read, requestID: UInt32(count), payload: WireMessage.strings([path])).encoded
        }
        return (bytes, count)
    }

    /// Sends `bytes` in 64 KiB blocking writes, publishing how far it got.
    private static func send(_ bytes: [UInt8], on fd: Int32, progress: Progress) {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + (64 << 10), bytes.count)
            guard UnixSocket.writeAll(fd, Array(bytes[offset..<end])) else { return }
            offset = end
            progress.bytes.store(offset, ordering: .releasing)
        }
    }

    /// Waits (at most 10 s) until `progress` stops moving for 500 ms or reaches `total`; returns it.
    private func waitForStall(_ progress: Progress, total: Int) -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        var last = -1
        while ContinuousClock.now < deadline {
            let now = progress.bytes.load(ordering: .acquiring)
            if now == last || now == total { return now }
            last = now
            usleep(500_000)
        }
        return last
    }

    /// Reads `count` messages from `fd` within `timeout`.
    private func receiveAll(_ count: Int, on fd: Int32, timeout: Duration) throws -> [WireMessage] {
        var framer = WireFramer(), messages: [WireMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count, ContinuousClock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 1000) >= 0 else { break }
            guard pfd.revents != 0 else { continue }
            guard let bytes = UnixSocket.readSome(fd) else { break }
            framer.append(bytes)
            while let message = try framer.next() { messages.append(message) }
        }
        return messages
    }
}

/// How many bytes a writer thread has sent.
final class Progress: Sendable {
    let bytes = Atomic<Int>(0)
}

/// `blkif-xenstored --foreground` in its own process, on a socket in a fresh directory.
final class ServerProcess {
    let directory: URL
    let socketPath: String
    private let running: ChildProcess.Running

    /// Starts the server built beside this test bundle; fails (never skips) if it is missing.
    init(arguments: [String] = []) throws {
        let executable = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().appendingPathComponent("blkif-xenstored").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw CPeerError("\(executable) is missing: build the package's products (`swift build --build-tests`)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("xsd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("sock").path
        running = try ChildProcess.start(executable, ["--socket", socketPath, "--foreground"] + arguments)
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: socketPath) {
            guard ContinuousClock.now < deadline else { throw CPeerError("blkif-xenstored did not listen within 10 s") }
            usleep(10_000)
        }
    }

    /// The server's resident and peak resident memory, from /proc/<pid>/status.
    func memory() throws -> (residentKiB: Int, peakKiB: Int) {
        let status = try String(contentsOfFile: "/proc/\(running.processIdentifier)/status", encoding: .utf8)
        func field(_ name: String) -> Int {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// Stops the server (SIGTERM) and removes its directory.
    func stop() {
        kill(running.processIdentifier, SIGTERM)
        _ = try? running.finish(timeout: .seconds(10))
        try? FileManager.default.removeItem(at: directory)
    }
}
