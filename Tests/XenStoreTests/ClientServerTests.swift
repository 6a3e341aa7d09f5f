import Foundation
import Glibc
import XCTest
@testable import XenStore

final class ClientServerTests: XCTestCase {
    private var fixture: ServerFixture!

    override func setUpWithError() throws { fixture = try ServerFixture() }
    override func tearDown() { fixture.tearDown() }

    func testClientOperationsReachTheServedTree() throws {
        let client = try fixture.client()
        try client.write("/vm/name", "guest")
        XCTAssertEqual(try fixture.server.store.read("/vm/name"), "guest")
        try fixture.server.store.write("/vm/memory", UInt64(1024))
        XCTAssertEqual(try client.read("/vm/memory", as: UInt64.self), 1024)
        try client.mkdir("/vm/devices")
        XCTAssertEqual(try client.directory("/vm"), ["name", "memory", "devices"])
        try client.setPermissions(Permissions(owner: DomainID(4), others: .read), of: "/vm/name")
        XCTAssertEqual(try client.permissions(of: "/vm/name"), Permissions(owner: DomainID(4), others: .read))
        try client.rm("/vm/devices")
        XCTAssertThrowsError(try client.read("/vm/devices")) { XCTAssertEqual($0 as? XenStoreError, .store(.ENOENT, path: "/vm/devices")) }
        try client.write("relative", "r")
        XCTAssertEqual(try client.read("/local/domain/0/relative"), "r", "a socket client is domain 0")
        XCTAssertThrowsError(try client.write("/big", String(repeating: "x", count: 5000))) {
            XCTAssertEqual(($0 as? XenStoreError)?.code, .E2BIG)
        }
    }

    func testASilentStoreTimesOutAndAClosedOneFailsTheConnection() throws {
        let path = NSTemporaryDirectory() + "silent-store-\(getpid()).sock"
        let listener = try UnixSocket.listen(at: path)
        defer {
            close(listener)
            unlink(path)
        }
        let client = try XenStoreClient(socketPath: path, timeout: .milliseconds(300))
        defer { client.close() }
        var accepted: Int32 = -1
        for _ in 0..<400 where accepted < 0 {
            accepted = accept(listener, nil, nil)
            if accepted < 0 { usleep(5_000) }
        }
        XCTAssertGreaterThanOrEqual(accepted, 0, "the client's connection was never accepted")
        let started = ContinuousClock.now
        XCTAssertThrowsError(try client.read("/a")) { XCTAssertEqual($0 as? XenStoreError, .timedOut(after: .milliseconds(300))) }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(3))
        close(accepted)  // the store goes away: that is a connection failure, not a slow reply
        XCTAssertThrowsError(try client.read("/a")) { error in
            guard case .connection? = error as? XenStoreError else { return XCTFail("\(error)") }
        }
    }

    func testWatchEventsAcrossConnections() throws {
        let watcher = try fixture.client(), writer = try fixture.client()
        try watcher.watch("/be", token: "tok")
        XCTAssertEqual(watcher.events.next(timeout: .seconds(2)), WatchEvent(path: "/be", token: "tok"))
        try writer.write("/be/vbd/768", "1")
        try fixture.server.store.rm("/be/vbd")
        XCTAssertEqual(collect(2, from: watcher.events).map(\.path), ["/be/vbd/768", "/be/vbd"])
    }

    func testTransactionsOverTheWire() throws {
        let first = try fixture.client(), second = try fixture.client()
        try first.write("/c", "0")
        let tx = try first.startTransaction()
        XCTAssertEqual(try first.read("/c", transaction: tx), "0")
        try second.write("/c", "9")
        try first.write("/c", value: "1", transaction: tx)
        XCTAssertThrowsError(try first.endTransaction(tx, commit: true)) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EAGAIN) }
        XCTAssertThrowsError(try second.endTransaction(tx, commit: true)) { XCTAssertEqual(($0 as? XenStoreError)?.code, .ENOENT) }
        try first.transaction { tx in try tx.write("/c", try tx.read("/c", as: UInt32.self) + 1) }
        XCTAssertEqual(try second.read("/c"), "10")
    }

    func testDisconnectDropsWatchesAndOpenTransactions() throws {
        var client: XenStoreClient? = try fixture.client()
        try client!.watch("/", token: "all")
        let tx = try client!.startTransaction()
        try client!.write("/uncommitted", value: "1", transaction: tx)
        client!.close()
        client = nil
        let other = try fixture.client()
        try other.write("/after", "1")
        XCTAssertThrowsError(try other.read("/uncommitted"))
        XCTAssertEqual(try other.directory("/"), ["after"])
    }

    func testAsyncEventStream() async throws {
        let client = try fixture.client()
        try client.watch("/s", token: "x")
        try fixture.server.store.write("/s/1", "a")
        var paths: [String] = []
        for await event in client.events.stream() {
            paths.append(event.path)
            if paths.count == 2 { break }
        }
        XCTAssertEqual(paths, ["/s", "/s/1"])
    }

    func testDefaultSocketPathFollowsLibxenstore() {
        XCTAssertEqual(XenStoreClient.defaultSocketPath(environment: ["XENSTORED_PATH": "/tmp/x"]), "/tmp/x")
        XCTAssertEqual(XenStoreClient.defaultSocketPath(environment: ["XENSTORED_RUNDIR": "/run/xs"]), "/run/xs/socket")
        XCTAssertEqual(XenStoreClient.defaultSocketPath(environment: [:]), "/var/run/xenstored/socket")
    }
}
