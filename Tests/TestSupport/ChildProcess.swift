// Running another process with a time limit and collecting what it printed.

import Foundation

/// A child process's exit status and output.
public struct ChildResult: Sendable {
    /// Exit status (or the terminating signal, negated).
    public let status: Int32
    /// Everything written to standard output.
    public let standardOutput: String
    /// Everything written to standard error.
    public let standardError: String
}

/// Runs programs (C peers, command-line tools) as separate processes.
public enum ChildProcess {
    /// Runs `executable` with `arguments` to completion, killing it after `timeout`.
    /// - Throws: ``CPeerError`` when it cannot start or runs out of time.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration
    ) throws -> ChildResult {
        let running = try start(executable, arguments, environment: environment)
        return try running.finish(timeout: timeout)
    }

    /// Starts `executable` and returns at once; call ``Running/finish(timeout:)`` to collect it.
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw CPeerError("cannot start \(executable): \(error)")
        }
        return Running(process: process, output: output, error: error, name: ([executable] + arguments).joined(separator: " "))
    }

    /// A started child process.
    public final class Running: @unchecked Sendable {
        let process: Process
        let name: String
        let outputCollector: Collector
        let errorCollector: Collector

        init(process: Process, output: Pipe, error: Pipe, name: String) {
            self.process = process
            self.name = name
            outputCollector = Collector(output.fileHandleForReading)
            errorCollector = Collector(error.fileHandleForReading)
        }

        /// The child's process id.
        public var processIdentifier: Int32 { process.processIdentifier }

        /// Waits for the child to exit, killing it after `timeout`.
        /// - Throws: ``CPeerError`` on timeout, with what it printed so far.
        public func finish(timeout: Duration) throws -> ChildResult {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning && ContinuousClock.now < deadline {
                usleep(2_000)
            }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
                throw CPeerError("\(name) did not finish within \(timeout):\n\(errorCollector.text())\n\(outputCollector.text())")
            }
            process.waitUntilExit()
            let status = process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
            return ChildResult(status: status, standardOutput: outputCollector.text(), standardError: errorCollector.text())
        }
    }

    /// Drains a pipe on a background thread so a chatty child never blocks on a full pipe.
    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    lock.lock(); data.append(chunk); lock.unlock()
                }
                done.signal()
            }
        }

        func text() -> String {
            _ = done.wait(timeout: .now() + 2)
            lock.lock(); defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self)
        }
    }
}
