import XCTest
@testable import XenStore

final class PathAndTypedReadTests: XCTestCase {
    func testPathValidation() throws {
        XCTAssertTrue(XenStorePath("/local/domain/0/backend-vbd_1@x").isAbsolute)
        XCTAssertFalse(XenStorePath("device/vbd/768").isAbsolute)
        XCTAssertTrue(XenStorePath("@releaseDomain").isSpecial)
        for bad in ["", "/a/", "/a//b", "/a b", "/a\0b", "/é", String(repeating: "a", count: 2049)] {
            XCTAssertThrowsError(try XenStorePath(bad), "accepted \(bad.prefix(20))") { error in
                guard case .invalidPath = error as? XenStoreError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertNoThrow(try XenStorePath("/" + String(repeating: "a", count: 3071)))
        XCTAssertThrowsError(try XenStorePath("/" + String(repeating: "a", count: 3072)))
        XCTAssertEqual(try XenStorePath("/").appending("a").rawValue, "/a")
        XCTAssertEqual(XenStorePath("device").resolved(for: DomainID(3)), "/local/domain/3/device")
    }

    func testPermissionsWireForm() {
        let permissions = Permissions(wireEntries: ["n5", "r0", "b7"])
        XCTAssertEqual(permissions, Permissions(owner: DomainID(5), others: .none, grants: [.init(.dom0, .read), .init(DomainID(7), .both)]))
        XCTAssertEqual(permissions?.wireEntries, ["n5", "r0", "b7"])
        XCTAssertEqual(permissions?.access(for: DomainID(5)), .both)
        XCTAssertEqual(permissions?.access(for: DomainID(7)), .both)
        XCTAssertEqual(permissions?.access(for: DomainID(8)), Permissions.Access.none)
        for bad in [[], ["x1"], ["r"], ["r-1"], ["r70000"], ["r1", "q2"]] {
            XCTAssertNil(Permissions(wireEntries: bad), "\(bad)")
        }
    }

    func testTypedReadsWithDefaults() throws {
        let store = InMemoryXenStore()
        let backend: XenStorePath = "/backend/vbd/1/768"
        try store.write(backend.appending("max-ring-page-order"), "4")
        try store.write(backend.appending("feature-persistent"), "1")
        XCTAssertEqual(try store.read("max-ring-page-order", under: backend, as: UInt32.self, default: 0), 4)
        XCTAssertEqual(try store.read("absent", under: backend, as: UInt32.self, default: 9), 9)
        XCTAssertEqual(try store.read("feature-persistent", under: backend, as: Bool.self, default: false), true)
        XCTAssertEqual(try store.read("feature-discard", under: backend, as: Bool.self, default: false), false)
        XCTAssertThrowsError(try store.read("absent", under: backend, as: UInt32.self)) { error in
            XCTAssertEqual(error as? XenStoreError, .store(.ENOENT, path: "/backend/vbd/1/768/absent"))
        }
        try store.write(backend.appending("count"), UInt64(42))
        XCTAssertEqual(try store.read(backend.appending("count")), "42")
    }

    func testMalformedValuesNamePathAndValue() throws {
        let store = InMemoryXenStore()
        let node: XenStorePath = "/dev/order"
        let cases: [(String, String)] = [("-1", "negative"), ("+1", "sign"), (" 1", "space"), ("1 ", "space"),
                                         ("", "empty"), ("0x10", "hex"), ("4294967296", "overflow"), ("1.0", "fraction")]
        for (value, why) in cases {
            try store.write(node, value)
            XCTAssertThrowsError(try store.read(node, as: UInt32.self, default: 0), why) { error in
                XCTAssertEqual(error as? XenStoreError,
                               .malformedValue(path: "/dev/order", value: value, expected: "a non-negative decimal UInt32"))
            }
        }
        try store.write(node, "2")
        XCTAssertThrowsError(try store.read(node, as: Bool.self)) { error in
            XCTAssertEqual(error as? XenStoreError, .malformedValue(path: "/dev/order", value: "2", expected: "0 or 1"))
        }
        try store.write(node, "200")
        XCTAssertThrowsError(try store.read(node, as: Int8.self, default: 0))
        try store.write(node, "4294967295")
        XCTAssertEqual(try store.read(node, as: UInt32.self), UInt32.max)
    }
}
