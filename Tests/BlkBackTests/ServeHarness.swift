// The processes of a served device: blkif-xenstored, `blkif serve`, and C frontends, each with
// its output in a file the test can read while it runs.

import Foundation
import TestSupport
import XCTest

/// A child process whose standard output and error go to files, readable while it runs.
final class LoggedProcess {
    let process = Process()
    let output: URL
    let name: String

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], log: URL) throws {
        name = ([URL(fileURLWithPath: executable).lastPathComponent] + arguments).joined(separator: " ")
        output = log
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try handle.close()
    }

    /// Everything printed so far.
    var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// Waits (bounded) until a line satisfies `matches`; returns it.
    @discardableResult
    func waitForLine(_ what: String, timeout: Duration = .seconds(30), _ matches: (Substring) -> Bool) throws -> Substring {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = text.split(separator: "\n").last(where: matches) { return line }
            if !isRunning, let line = text.split(separator: "\n").last(where: matches) { return line }
            if !isRunning { throw CPeerError("\(name) exited (\(process.terminationStatus)) before \(what):\n\(text)") }
            usleep(20_000)
        }
        throw CPeerError("\(name): no \(what) within \(timeout):\n\(text)")
    }

    /// Waits (bounded) for the process to exit; returns its status, or throws with its output.
    func finish(timeout: Duration = .seconds(90)) throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        guard !isRunning else {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            throw CPeerError("\(name) did not finish within \(timeout):\n\(text)")
        }
        return process.terminationStatus
    }

    /// Sends `signal` and reaps the process (bounded).
    func stop(_ signal: Int32 = SIGTERM) {
        guard isRunning else { return }
        kill(pid, signal)
        let deadline = ContinuousClock.now + .seconds(5)
        while isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// CPU seconds (user + system) the process has used, from /proc.
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)  // utime, stime (fields 14, 15)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// A store, a backend and frontends in a fresh directory; everything is stopped on ``shutDown()``.
final class ServeHarness {
    /// How each frontend peer is built: Xen's headers, and libxenstore for -m64 (see C/xs_mini.c).
    static func frontendPeer(_ bits: CPeerBits) throws -> URL {
        let directory = CPeer.sourceDirectory(besides: #filePath)
        let sources = ["blkfront_peer.c", "peer_workloads.c", "peer_hostile.c", "loopback_granter.c"] + (bits == .m32 ? ["xs_mini.c"] : [])
        let flags = bits == .m64 ? ["-Wl,--no-as-needed", "-lxenstore"] : []
        guard FileManager.default.fileExists(atPath: "/usr/include/xenstore.h") else {
            throw CPeerError("/usr/include/xenstore.h is missing: install Debian's libxen-dev (`make deps` does)")
        }
        return try CPeer.build(sources.map { directory.appendingPathComponent($0) }, bits: bits, name: "blkfront_peer", flags: flags)
    }

    /// A random seed for a C frontend, or `BLKBACK_SEED` to replay one a failure printed.
    static func seed() -> UInt64 {
        ProcessInfo.processInfo.environment["BLKBACK_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...1_000_000)
    }

    /// The directory of this package's built programs (the test bundle's).
    static func program(_ name: String) throws -> String {
        let path = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CPeerError("\(path) is missing: build the package's programs first (`swift build --build-tests`)")
        }
        return path
    }

    let directory: URL
    let socket: String
    let platformDirectory: String
    private var children: [LoggedProcess] = []
    private var logs = 0

    /// Starts blkif-xenstored with `domains` introduced.
    init(domains: [UInt16] = [1, 2]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("blkback-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socket = directory.appendingPathComponent("socket").path
        platformDirectory = directory.appendingPathComponent("platform").path
        try FileManager.default.createDirectory(atPath: platformDirectory, withIntermediateDirectories: true)
        _ = try start(try Self.program("blkif-xenstored"), ["--socket", socket, "--foreground"] + domains.flatMap { ["--introduce", "\($0)"] })
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: socket) {
            guard ContinuousClock.now < deadline else { throw CPeerError("blkif-xenstored did not listen on \(socket)") }
            usleep(10_000)
        }
    }

    /// A zeroed image of `sectors` sectors.
    func image(_ name: String, sectors: Int) throws -> String {
        let path = directory.appendingPathComponent(name).path
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(sectors * 512))
        try handle.close()
        return path
    }

    /// `blkif serve IMAGES --frontend-domain D…`, once it printed a line per image.
    func serve(_ images: [String], domains: [UInt16], options: [String] = []) throws -> LoggedProcess {
        let arguments = ["serve", "--socket", socket, "--platform-dir", platformDirectory] + domains.flatMap { ["--frontend-domain", "\($0)"] }
            + options + images
        let backend = try start(try Self.program("blkif"), arguments)
        let deadline = ContinuousClock.now + .seconds(30)
        while backend.text.split(separator: "\n").filter({ $0.hasPrefix("serving ") }).count < images.count {
            guard backend.isRunning, ContinuousClock.now < deadline else { throw CPeerError("blkif serve did not start:\n\(backend.text)") }
            usleep(20_000)
        }
        return backend
    }

    /// The C frontend in `mode` as `domain` on device `device` (see C/blkfront_peer.c).
    func frontend(_ bits: CPeerBits, mode: String, domain: UInt16, device: UInt32 = 51712, seed: UInt64, count: Int,
                  persistent: Bool = true, ringPages: Int = 1) throws -> LoggedProcess {
        let peer = try Self.frontendPeer(bits)
        return try start(peer.path, [mode, platformDirectory, "\(domain)", "\(device)", "\(seed)", "\(count)", persistent ? "1" : "0", "\(ringPages)"],
                         environment: ["XENSTORED_PATH": "\(socket).d\(domain)"])
    }

    /// Runs `blkif ARGUMENTS --socket …` to completion; its output.
    func blkif(_ arguments: [String]) throws -> String {
        let result = try ChildProcess.run(try Self.program("blkif"), arguments + ["--socket", socket], timeout: .seconds(30))
        guard result.status == 0 else { throw CPeerError("blkif \(arguments) failed (\(result.status)): \(result.standardError)") }
        return result.standardOutput
    }

    private func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> LoggedProcess {
        logs += 1
        let child = try LoggedProcess(executable, arguments, environment: environment,
                                      log: directory.appendingPathComponent("log-\(logs)-\(URL(fileURLWithPath: executable).lastPathComponent)"))
        children.append(child)
        return child
    }

    /// Stops every process (frontends and backends first, the store last) and removes the directory.
    func shutDown() {
        for child in children.reversed() { child.stop() }
        try? FileManager.default.removeItem(at: directory)
    }
}
