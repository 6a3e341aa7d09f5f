// The processes of one system test: blkif-xenstored, `blkif serve` on a fresh image, and the
// `blkif attach` runs a test makes against it.

import Foundation
import Glibc
import TestSupport
import XCTest

/// A temporary directory holding the store's socket, the platform's sockets and a disk image of
/// seeded random data, with the store and (once started) the backend running.
final class SystemHarness {
    let directory: String
    let socket: String
    let platform: String
    let image: String
    private let store: ChildProcess.Running
    private var backend: ChildProcess.Running?

    /// Where SwiftPM put the executables (beside the test bundle).
    static var productsDirectory: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent() }

    /// The path of a built executable of this package.
    static func program(_ name: String) throws -> String {
        let path = productsDirectory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CPeerError("\(path) is missing: build the package's executables first (swift build)")
        }
        return path
    }

    /// Starts the store; writes an image of `imageBytes` random bytes.
    init(imageBytes: Int = 16 << 20) throws {
        directory = NSTemporaryDirectory() + "/blkif-system-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        socket = directory + "/xenstored.sock"
        platform = directory + "/platform"
        image = directory + "/disk.img"
        try FileManager.default.createDirectory(atPath: platform, withIntermediateDirectories: true)
        var random = PatternStream(seed: 0xD15C)
        FileManager.default.createFile(atPath: image, contents: random.bytes(imageBytes))
        store = try ChildProcess.start(try Self.program("blkif-xenstored"), ["--socket", socket, "--foreground"])
        let deadline = ContinuousClock.now + .seconds(10)
        while access(socket, F_OK) != 0 {
            guard ContinuousClock.now < deadline else { throw CPeerError("blkif-xenstored did not listen on \(socket) within 10 s") }
            usleep(10_000)
        }
    }

    /// The options locating the store and the platform.
    var common: [String] { ["--socket", socket, "--platform-dir", platform] }

    /// Starts `blkif serve` on the image for domain 1, with `extra` options.
    func serve(_ extra: [String] = []) throws {
        backend = try ChildProcess.start(try Self.program("blkif"), ["serve", image, "--frontend-domain", "1"] + common + extra)
    }

    /// Starts `blkif attach ARGUMENTS` as domain 1 without waiting.
    func startAttach(_ arguments: [String]) throws -> ChildProcess.Running {
        try ChildProcess.start(try Self.program("blkif"), ["attach"] + arguments + ["--domain", "1"] + common)
    }

    /// Runs `blkif attach ARGUMENTS` as domain 1 to completion.
    func attach(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> ChildResult {
        try startAttach(arguments).finish(timeout: timeout)
    }

    /// Waits until the `state` node of domain 1's vbd 51712 frontend reads `state` (1
    /// Initialising when a backend has just created the device, 4 Connected), through the real
    /// `xenstore-read`, so that a test acts on a device in a known state, not on one still
    /// negotiating on a loaded machine.
    func waitUntilFrontend(state: Int, timeout: Duration = .seconds(60)) throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let read = try ChildProcess.run(
                "/usr/bin/xenstore-read", ["/local/domain/1/device/vbd/51712/state"],
                environment: ["XENSTORED_PATH": socket], timeout: .seconds(10))
            if read.status == 0, read.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == String(state) { return }
            guard ContinuousClock.now < deadline else {
                throw CPeerError("the frontend's state did not reach \(state) within \(timeout): \(read.standardOutput)\(read.standardError)")
            }
            usleep(50_000)
        }
    }

    /// Kills the backend with `signal` and collects it.
    @discardableResult
    func stopBackend(signal: Int32 = SIGTERM) throws -> ChildResult? {
        guard let backend else { return nil }
        self.backend = nil
        kill(backend.processIdentifier, signal)
        return try backend.finish(timeout: .seconds(10))
    }

    /// Stops everything and removes the directory.
    func tearDown() {
        _ = try? stopBackend()
        kill(store.processIdentifier, SIGTERM)
        _ = try? store.finish(timeout: .seconds(5))
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// `blkif`'s seeded byte stream (SplitMix64, each word little-endian): what `attach verify`
/// writes as its pattern, regenerated here to check the image file independently.
struct PatternStream {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next `count` bytes.
    mutating func bytes(_ count: Int) -> Data {
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = next()
            for _ in 0..<min(8, count - index) {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return Data(bytes)
    }
}
