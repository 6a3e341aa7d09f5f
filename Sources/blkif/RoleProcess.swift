// A `blkif` role (serve, attach …) run as a child process, its output prefixed line by line.

import ArgumentParser
import Foundation
import Glibc

/// One child `blkif` process whose standard output and error are copied to ours, each line
/// prefixed with the role's name.
final class RoleProcess: @unchecked Sendable {  // safe: `process` is used from the creating thread; the reader thread only reads the pipe
    let name: String
    private let process = Process()
    private let done = DispatchSemaphore(value: 0)

    /// Starts this executable with `arguments`.
    init(name: String, arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: Self.executablePath)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let reader = pipe.fileHandleForReading
        let label = name.padding(toLength: 9, withPad: " ", startingAt: 0)
        Thread.detachNewThread { [done] in
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    for part in line.split(separator: "\r", omittingEmptySubsequences: true).suffix(1) {
                        FileHandle.standardOutput.write(Data("  \(label)| \(part)\n".utf8))
                    }
                }
            }
            done.signal()
        }
    }

    /// This program's own path (the children are the same `blkif`).
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Waits for it to exit (at most `timeout`, then kills it) and returns its status.
    @discardableResult
    func wait(timeout: Duration) -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        _ = done.wait(timeout: .now() + 2)
        return process.terminationStatus
    }

    /// Asks it to stop (SIGTERM), then waits as ``wait(timeout:)``.
    @discardableResult
    func stop(timeout: Duration) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        return wait(timeout: timeout)
    }

    /// Waits for a clean exit, else throws naming the role and its status.
    func expectSuccess(timeout: Duration) throws {
        let status = wait(timeout: timeout)
        guard status == 0 else { throw ValidationError("\(name) exited with status \(status)") }
    }
}
