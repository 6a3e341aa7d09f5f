import Foundation
import XCTest
@testable import XenStore

/// Clients acting as other domains: introduced domains connect on `<socket>.d<N>` and are held
/// to permissions and quotas; dom0 introduces and releases them as with `XS_INTRODUCE`/`XS_RELEASE`.
final class DomainIdentityTests: XCTestCase {
    private var fixture: ServerFixture!

    override func setUpWithError() throws { fixture = try ServerFixture() }
    override func tearDown() { fixture.tearDown() }

    private func assertCode(_ code: XSDError, _ body: @autoclosure () throws -> some Any,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) {
            XCTAssertEqual(($0 as? XenStoreError)?.code, code, "\($0)", file: file, line: line)
        }
    }

    func testIntroducedDomainIsHeldToPermissionsUntilGranted() throws {
        XCTAssertEqual(try fixture.server.introduce(DomainID(5)), fixture.socketPath + ".d5")
        let dom0 = try fixture.client()
        try dom0.write("/secret", "s")
        try dom0.mkdir("/local/domain/5")
        try dom0.setPermissions(Permissions(owner: DomainID(5)), of: "/local/domain/5")
        let guest = try fixture.client(as: DomainID(5))
        assertCode(.EACCES, try guest.read("/secret"))
        assertCode(.EACCES, try guest.write("/secret", "x"))
        try dom0.setPermissions(Permissions(owner: .dom0, grants: [.init(DomainID(5), .read)]), of: "/secret")
        XCTAssertEqual(try guest.read("/secret"), "s")
        assertCode(.EACCES, try guest.write("/secret", "x"))
        try guest.write("device/vbd", "1")
        XCTAssertEqual(try dom0.read("/local/domain/5/device/vbd"), "1", "relative paths resolve against the domain's home")
        XCTAssertEqual(try dom0.permissions(of: "/local/domain/5/device/vbd").owner, DomainID(5), "the creator owns it")
        assertCode(.EACCES, try guest.introduceDomain(DomainID(6)))
        assertCode(.EACCES, try guest.setPermissions(Permissions(owner: DomainID(5)), of: "@introduceDomain"))
    }

    func testIntroduceAndReleaseOverTheWireFireTheSpecialWatches() throws {
        let dom0 = try fixture.client()
        try dom0.watch("@introduceDomain", token: "in")
        try dom0.watch("@releaseDomain", token: "out")
        XCTAssertEqual(collect(2, from: dom0.events).count, 2)
        try dom0.introduceDomain(DomainID(9))
        XCTAssertEqual(dom0.events.next(timeout: .seconds(2)), WatchEvent(path: "@introduceDomain", token: "in"))
        XCTAssertTrue(try dom0.isDomainIntroduced(DomainID(9)))
        XCTAssertFalse(try dom0.isDomainIntroduced(DomainID(10)))
        let guest = try fixture.client(as: DomainID(9))
        assertCode(.EACCES, try guest.directory("/"))
        try dom0.releaseDomain(DomainID(9))
        XCTAssertEqual(dom0.events.next(timeout: .seconds(2)), WatchEvent(path: "@releaseDomain", token: "out"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: fixture.socketPath + ".d9"))
        XCTAssertNil(guest.events.next(timeout: .seconds(2)), "the released domain's connection is closed")
        XCTAssertThrowsError(try guest.read("/x")) {
            guard case .connection = $0 as? XenStoreError else { return XCTFail("still connected: \($0)") }
        }
        assertCode(.ENOENT, try dom0.releaseDomain(DomainID(9)))
        assertCode(.EINVAL, try dom0.introduceDomain(.dom0))
    }

    func testSpecialEventsReachOnlyDomainsAllowedBySetPerms() throws {
        try fixture.server.introduce(DomainID(3))
        try fixture.server.introduce(DomainID(4))
        let allowed = try fixture.client(as: DomainID(3)), other = try fixture.client(as: DomainID(4))
        for guest in [allowed, other] {
            try guest.watch("@introduceDomain", token: "in")
            XCTAssertEqual(guest.events.next(timeout: .seconds(2))?.path, "@introduceDomain", "the initial event")
        }
        try fixture.client().setPermissions(Permissions(owner: .dom0, grants: [.init(DomainID(3), .read)]), of: "@introduceDomain")
        try fixture.server.introduce(DomainID(8))
        XCTAssertEqual(allowed.events.next(timeout: .seconds(2)), WatchEvent(path: "@introduceDomain", token: "in"))
        XCTAssertNil(other.events.next(timeout: .milliseconds(300)))
    }

    func testQuotasBindUnprivilegedDomainsOnlyAndAreConfigurable() throws {
        fixture.tearDown()
        fixture = try ServerFixture(store: InMemoryXenStore(quotas: XenStoreQuotas(watchesPerDomain: 3, transactionsPerSession: 2)))
        try fixture.server.introduce(DomainID(5))
        let guest = try fixture.client(as: DomainID(5)), dom0 = try fixture.client()
        for index in 0..<3 { try guest.watch(try XenStorePath("/w\(index)"), token: "t") }
        assertCode(.E2BIG, try guest.watch("/w3", token: "t"))
        _ = try (0..<2).map { _ in try guest.startTransaction() }
        assertCode(.ENOSPC, try guest.startTransaction())
        for index in 0..<10 { try dom0.watch(try XenStorePath("/w\(index)"), token: "t") }
        _ = try (0..<10).map { _ in try dom0.startTransaction() }
    }
}
