import Foundation
import XCTest
@testable import XenStore

/// Several client processes and connections writing, watching and transacting at once.
final class ConcurrencyTests: XCTestCase {
    private var fixture: ServerFixture!

    override func setUpWithError() throws { fixture = try ServerFixture() }
    override func tearDown() { fixture.tearDown() }

    func testEveryWatchEventArrivesWhileProcessesWrite() throws {
        let writers = 4, writesPerWriter = 10
        let ourWatcher = try fixture.client()
        try ourWatcher.watch("/load", token: "ours")
        XCTAssertEqual(ourWatcher.events.next(timeout: .seconds(2))?.path, "/load")
        // One xenstore-watch process per writer: initial event plus that writer's writes.
        let toolWatchers = try (0..<writers).map { writer in
            try ToolProcess("xenstore-watch", ["-n", "\(writesPerWriter + 1)", "/load/w\(writer)"], socketPath: fixture.socketPath)
        }
        try waitForWatchers(count: writers + 1)
        let writerProcesses = try (0..<writers).map { writer in
            let pairs = (0..<writesPerWriter).flatMap { ["/load/w\(writer)/k\($0)", "\($0)"] }
            return try ToolProcess("xenstore-write", pairs, socketPath: fixture.socketPath)
        }
        for process in writerProcesses { XCTAssertEqual(process.finish().status, 0) }
        let ours = collect(writers * writesPerWriter, from: ourWatcher.events)
        XCTAssertEqual(ours.count, writers * writesPerWriter)
        XCTAssertEqual(Set(ours.map(\.path)).count, writers * writesPerWriter)
        for (writer, watcher) in toolWatchers.enumerated() {
            let result = watcher.finish()
            let lines = result.output.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.first, "/load/w\(writer)")
            XCTAssertEqual(Set(lines.dropFirst()), Set((0..<writesPerWriter).map { "/load/w\(writer)/k\($0)" }))
        }
    }

    func testConflictingTransactionsRetryAndEndConsistent() throws {
        let workers = 4, incrementsPerWorker = 25
        try fixture.client().write("/counter", UInt64(0))
        let failures = FailureLog()
        let socketPath = fixture.socketPath
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            do {
                let client = try XenStoreClient(socketPath: socketPath, timeout: .seconds(5))
                for _ in 0..<incrementsPerWorker {
                    try client.transaction(maxAttempts: 1000) { tx in
                        let value = try tx.read("/counter", as: UInt64.self)
                        try tx.write("/counter", value + 1)
                    }
                }
            } catch {
                failures.record(error)
            }
        }
        XCTAssertEqual(failures.errors, [])
        XCTAssertEqual(try fixture.client().read("/counter", as: UInt64.self), UInt64(workers * incrementsPerWorker))
    }

    /// Waits until the server holds `count` watches (the tool processes register asynchronously).
    private func waitForWatchers(count: Int) throws {
        let deadline = Date(timeIntervalSinceNow: 3)
        while fixture.server.store.core.perform({ state in (state.watchCount, []) }) < count {
            guard Date() < deadline else { return XCTFail("only some watchers registered within 3s") }
            usleep(5_000)
        }
    }
}

/// Errors collected from concurrent workers.
final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    var errors: [String] { lock.withLock { collected } }
    func record(_ error: Error) { lock.withLock { collected.append("\(error)") } }
}
