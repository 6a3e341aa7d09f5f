// `blkif serve`, `devices` and `detach` as a user meets them: listing, detaching, and errors
// that name what was wrong.

import Foundation
import TestSupport
import XCTest

final class CommandTests: XCTestCase {
    func testDetachRemovesTheDeviceAndServeEndsWhenNothingIsLeft() throws {
        let harness = try ServeHarness()
        defer { harness.shutDown() }
        let backend = try harness.serve([try harness.image("disk.img", sectors: 2048)], domains: [1])
        let listing = try harness.blkif(["devices"])
        XCTAssertTrue(listing.contains("frontend-domain=1 device=51712") && listing.contains("backend-state=InitWait"), listing)
        let json = try harness.blkif(["devices", "--json"])
        XCTAssertTrue(json.contains("\"backend-state\":\"InitWait\""), json)

        XCTAssertTrue(try harness.blkif(["detach", "--frontend-domain", "1"]).contains("detached"))
        XCTAssertEqual(try backend.finish(timeout: .seconds(10)), 0, backend.text)
        XCTAssertTrue(try harness.blkif(["devices"]).contains("no block devices"))
        XCTAssertThrowsError(try harness.blkif(["detach", "--frontend-domain", "1"])) { error in
            XCTAssertTrue("\(error)".contains("/local/domain/0/backend/vbd/1/51712"), "\(error)")
        }
    }

    func testServeNamesAMissingImage() throws {
        let harness = try ServeHarness()
        defer { harness.shutDown() }
        let missing = harness.directory.appendingPathComponent("missing.img").path
        let result = try ChildProcess.run(try ServeHarness.program("blkif"), ["serve", missing, "--socket", harness.socket,
                                                                             "--platform-dir", harness.platformDirectory], timeout: .seconds(30))
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains(missing) && result.standardError.contains("No such file"), result.standardError)
    }

    func testABackendOfAnotherTypeIsListedAndDetachedThroughTheFrontendsLink() throws {
        let harness = try ServeHarness()
        defer { harness.shutDown() }
        let backend = try harness.serve([try harness.image("disk.img", sectors: 2048)], domains: [1], options: ["--backend-type", "blkif"])
        let listing = try harness.blkif(["devices"])
        XCTAssertTrue(listing.contains("frontend-domain=1 device=51712") && listing.contains("backend-type=blkif"), listing)
        // a frontend finds it through its own `backend` node, as Linux's blkfront does
        let attached = try ChildProcess.run(try ServeHarness.program("blkif"), ["attach", "info", "--domain", "1", "--socket", harness.socket,
                                                                               "--platform-dir", harness.platformDirectory], timeout: .seconds(60))
        XCTAssertEqual(attached.status, 0, attached.standardError)
        XCTAssertTrue(attached.standardOutput.contains("(blkif)"), attached.standardOutput)
        // and so does detach
        XCTAssertTrue(try harness.blkif(["detach", "--frontend-domain", "1"]).contains("(blkif)"))
        XCTAssertEqual(try backend.finish(timeout: .seconds(10)), 0, backend.text)
    }

    func testServeOnXenOffXenSaysWhatIsMissing() throws {
        let harness = try ServeHarness()
        defer { harness.shutDown() }
        let image = try harness.image("disk.img", sectors: 2048)
        let result = try ChildProcess.run(try ServeHarness.program("blkif"), ["serve", image, "--platform", "xen", "--socket", harness.socket],
                                          timeout: .seconds(30))
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("/dev/xen/"), result.standardError)
    }
}
