// Spawning the C peer of a run and collecting what it reports.

import Foundation
import TestSupport

/// What a C peer printed on success ("notifications N waits W").
struct PeerOutcome {
    var notifications = 0, waits = 0
}

extension RingRunner {
    /// Starts the C peer as the front or the back of `configuration`'s ring.
    static func spawn(front: Bool, _ configuration: RingRunConfiguration, file: RingSharedFile) throws -> ChildProcess.Running {
        let arguments = [
            front ? "front" : "back", file.memory.path, "\(configuration.pages)", "\(configuration.requests)",
            "\(configuration.start.rawValue)", configuration.mode.rawValue, "\(file.geometry.byteCount)",
            "\(configuration.seed(front: front))", "\(configuration.batch)",
        ]
        return try ChildProcess.start(try peer(for: configuration.abi).path, arguments)
    }

    /// Runs our end (`body`), then collects the C peer. If our end fails, the peer is killed and
    /// both sides' messages are reported.
    static func collect(_ child: ChildProcess.Running, from body: () throws -> Void) throws -> PeerOutcome {
        do { try body() } catch {
            throw RingMismatch(description: "our end: \(error); C peer: \(stopped(child))")
        }
        let result = try child.finish(timeout: RingPacing.runTimeout)
        guard result.status == 0 else {
            throw RingMismatch(description: "C peer exited with \(result.status): \(result.standardError)")
        }
        let words = result.standardOutput.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard words.count == 2 else { throw RingMismatch(description: "C peer printed \(result.standardOutput)") }
        return PeerOutcome(notifications: words[0], waits: words[1])
    }

    /// Kills the child (if still running) and returns what it printed on standard error.
    static func stopped(_ child: ChildProcess.Running) -> String {
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        guard let result = try? child.finish(timeout: .seconds(5)) else { return "did not stop" }
        return "status \(result.status) \(result.standardError)"
    }
}

/// The outcome of our back when it runs on a thread of its own.
final class ThreadResult: @unchecked Sendable {
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var outcome = PeerOutcome()
    private var failure: Error?

    /// Records the thread's counters or its error; call once.
    func finish(notifications: Int, waits: Int, error: Error?) {
        lock.withLock {
            outcome = PeerOutcome(notifications: notifications, waits: waits)
            failure = error
        }
        done.signal()
    }

    /// Waits (bounded) for ``finish(notifications:waits:error:)``.
    func wait(timeout: Duration) throws -> (notifications: Int, waits: Int, error: Error?) {
        let seconds = Double(timeout.components.seconds)
        guard done.wait(timeout: .now() + seconds) == .success else {
            throw RingMismatch(description: "our back thread did not finish within \(timeout)")
        }
        return lock.withLock { (outcome.notifications, outcome.waits, failure) }
    }
}
