import XCTest

final class XenStoreTestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
