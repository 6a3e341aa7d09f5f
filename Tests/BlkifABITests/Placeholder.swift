import XCTest

final class BlkifABITestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
