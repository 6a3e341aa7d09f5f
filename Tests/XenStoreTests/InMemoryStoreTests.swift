import XCTest
@testable import XenStore

final class InMemoryStoreTests: XCTestCase {
    func testTreeOperations() throws {
        let store = InMemoryXenStore()
        try store.write("/a/b/c", "1")
        XCTAssertEqual(try store.read("/a/b/c"), "1")
        XCTAssertEqual(try store.read("/a/b"), "")
        XCTAssertEqual(try store.directory("/a"), ["b"])
        try store.mkdir("/a/d")
        try store.mkdir("/a/d")
        XCTAssertEqual(try store.directory("/a"), ["b", "d"])
        try store.rm("/a/b")
        XCTAssertEqual(try store.directory("/a"), ["d"])
        try store.rm("/a/b")  // absent, parent present: success as in xenstored
        XCTAssertThrowsError(try store.rm("/x/y")) { XCTAssertEqual($0 as? XenStoreError, .store(.ENOENT, path: "/x/y")) }
        XCTAssertThrowsError(try store.read("/a/b/c")) { XCTAssertEqual($0 as? XenStoreError, .store(.ENOENT, path: "/a/b/c")) }
        XCTAssertThrowsError(try store.rm("/")) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EINVAL) }
    }

    func testRelativePathsResolveAgainstDomainHome() throws {
        let dom0 = InMemoryXenStore()
        try dom0.mkdir("/local/domain/5")
        try dom0.setPermissions(Permissions(owner: DomainID(5)), of: "/local/domain/5")
        let guest = dom0.session(as: DomainID(5))
        try guest.write("device/vbd/768/state", "1")
        XCTAssertEqual(try dom0.read("/local/domain/5/device/vbd/768/state"), "1")
        XCTAssertEqual(try dom0.permissions(of: "/local/domain/5/device").owner, DomainID(5))
    }

    func testPermissionsKeepDomainsApart() throws {
        let dom0 = InMemoryXenStore()
        for id in [1, 2] as [UInt16] {
            try dom0.write(XenStorePath("/local/domain").appending("\(id)/secret"), "s\(id)")
            try dom0.setPermissions(Permissions(owner: DomainID(id)), of: XenStorePath("/local/domain").appending("\(id)"))
            try dom0.setPermissions(Permissions(owner: DomainID(id)), of: XenStorePath("/local/domain").appending("\(id)/secret"))
        }
        let one = dom0.session(as: DomainID(1)), two = dom0.session(as: DomainID(2))
        XCTAssertEqual(try one.read("secret"), "s1")
        XCTAssertThrowsError(try one.read("/local/domain/2/secret")) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EACCES) }
        XCTAssertThrowsError(try one.write("/local/domain/2/secret", "x")) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EACCES) }
        XCTAssertThrowsError(try one.write("/local/domain/2/new", "x")) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EACCES) }
        XCTAssertThrowsError(try one.rm("/local/domain/2/secret")) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EACCES) }
        XCTAssertThrowsError(try one.directory("/local/domain/2")) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EACCES) }
        XCTAssertThrowsError(try one.setPermissions(Permissions(owner: DomainID(1), others: .both), of: "/local/domain/2/secret"))
        XCTAssertThrowsError(try one.setPermissions(Permissions(owner: DomainID(2)), of: "secret")) {
            XCTAssertEqual(($0 as? XenStoreError)?.code, .EPERM)
        }
        // Domain 2 grants domain 1 read access to one node only.
        try two.setPermissions(Permissions(owner: DomainID(2), grants: [.init(DomainID(1), .read)]), of: "secret")
        XCTAssertEqual(try one.read("/local/domain/2/secret"), "s2")
        XCTAssertThrowsError(try one.write("/local/domain/2/secret", "x"))
        XCTAssertEqual(try dom0.read("/local/domain/2/secret"), "s2")
    }

    func testWatchFiresInitiallyThenForChangesBelow() throws {
        let store = InMemoryXenStore()
        let watcher = store.session(as: .dom0)
        try watcher.watch("/backend", token: "be")
        try store.write("/backend/vbd/1", "x")
        try store.write("/other", "y")
        try store.setPermissions(Permissions(owner: .dom0, others: .read), of: "/backend")
        XCTAssertEqual(collect(3, from: watcher.events).map(\.path), ["/backend", "/backend/vbd/1", "/backend"])
        XCTAssertEqual(watcher.events.next(timeout: .milliseconds(50)), nil)
        try watcher.unwatch("/backend", token: "be")
        try store.write("/backend/vbd/2", "x")
        XCTAssertNil(watcher.events.next(timeout: .milliseconds(50)))
        XCTAssertThrowsError(try watcher.unwatch("/backend", token: "be"))
    }

    func testRemovingSubtreeFiresWatchesOnDescendants() throws {
        let store = InMemoryXenStore()
        try store.write("/fe/vbd/768/state", "4")
        let watcher = store.session(as: .dom0)
        try watcher.watch("/fe/vbd/768/state", token: "state")
        try watcher.watch("/fe", token: "root")
        XCTAssertEqual(collect(2, from: watcher.events).count, 2)
        try store.rm("/fe/vbd")
        let events = Set(collect(2, from: watcher.events))
        XCTAssertEqual(events, [WatchEvent(path: "/fe/vbd", token: "root"), WatchEvent(path: "/fe/vbd/768/state", token: "state")])
    }

    func testWatchEventsRespectPermissionsAndRelativePaths() throws {
        let dom0 = InMemoryXenStore()
        try dom0.mkdir("/local/domain/3")
        try dom0.setPermissions(Permissions(owner: DomainID(3)), of: "/local/domain/3")
        let guest = dom0.session(as: DomainID(3))
        try guest.watch("device", token: "dev")
        try guest.watch("/secret", token: "s")
        try dom0.write("/local/domain/3/device/vbd", "1")
        try dom0.write("/secret/key", "k")
        try guest.watch("@releaseDomain", token: "rel")
        XCTAssertEqual(collect(4, from: guest.events, timeout: .milliseconds(300)),
                       [WatchEvent(path: "device", token: "dev"), WatchEvent(path: "/secret", token: "s"),
                        WatchEvent(path: "device/vbd", token: "dev"), WatchEvent(path: "@releaseDomain", token: "rel")])
    }

    func testTransactionSeesSnapshotAndConflictsWithEAGAIN() throws {
        let store = InMemoryXenStore()
        try store.write("/counter", "0")
        let other = store.session(as: .dom0)
        let tx = try store.startTransaction()
        XCTAssertEqual(try store.read("/counter", transaction: tx), "0")
        try other.write("/counter", "5")
        XCTAssertEqual(try store.read("/counter", transaction: tx), "0", "a transaction reads its snapshot")
        try store.write("/counter", value: "1", transaction: tx)
        XCTAssertThrowsError(try store.endTransaction(tx, commit: true)) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EAGAIN) }
        XCTAssertEqual(try store.read("/counter"), "5")
        XCTAssertThrowsError(try other.endTransaction(tx, commit: false), "another session cannot end it")
    }

    func testTransactionWritesAppearOnlyAtCommitAndAbortDiscards() throws {
        let store = InMemoryXenStore()
        let watcher = store.session(as: .dom0)
        try watcher.watch("/t", token: "t")
        _ = collect(1, from: watcher.events)
        let tx = try store.startTransaction()
        try store.write("/t/a", value: "1", transaction: tx)
        XCTAssertThrowsError(try store.read("/t/a"))
        XCTAssertNil(watcher.events.next(timeout: .milliseconds(50)))
        try store.endTransaction(tx, commit: true)
        XCTAssertEqual(try store.read("/t/a"), "1")
        XCTAssertEqual(collect(1, from: watcher.events).map(\.path), ["/t/a"])
        let aborted = try store.startTransaction()
        try store.rm("/t/a", transaction: aborted)
        try store.endTransaction(aborted, commit: false)
        XCTAssertEqual(try store.read("/t/a"), "1")
    }

    func testTransactionHelperRetriesAndGivesUp() throws {
        let store = InMemoryXenStore()
        let other = store.session(as: .dom0)
        try store.write("/n", UInt32(0))
        var attempts = 0
        try store.transaction { tx in
            attempts += 1
            let value = try tx.read("/n", as: UInt32.self)
            if attempts < 3 { try other.write("/n", UInt32(value + 10)) }  // interfere twice
            try tx.write("/n", value + 1)
        }
        XCTAssertEqual(attempts, 3)
        XCTAssertEqual(try store.read("/n", as: UInt32.self), 21)
        XCTAssertThrowsError(try store.transaction(maxAttempts: 2) { tx in
            try other.write("/n", "0")
            _ = try tx.read("/n")
        }) { XCTAssertEqual($0 as? XenStoreError, .transactionRetriesExhausted(attempts: 2)) }
    }

    func testClosingSessionDropsWatchesAndTransactions() throws {
        let store = InMemoryXenStore()
        var session: InMemoryXenStore? = store.session(as: .dom0)
        try session!.watch("/", token: "all")
        let tx = try session!.startTransaction()
        try session!.write("/pending", value: "1", transaction: tx)
        session!.close()
        session = nil
        try store.write("/after", "1")
        XCTAssertThrowsError(try store.read("/pending"))
        XCTAssertThrowsError(try store.endTransaction(tx, commit: true))
    }
}
