import XCTest

final class BlkifRingTestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
