// The implementation over Xen's libraries, as far as it runs without a hypervisor.

import XCTest
@testable import XenPlatform

final class XenLibraryTests: XCTestCase {
    /// Without /dev/xen/* both tables fail at open, saying which device is absent; with them
    /// (in a Xen domain) both open.
    func testOpeningWithoutXenSaysTheDeviceIsAbsent() throws {
        if FileManager.default.fileExists(atPath: "/dev/xen/gntdev") && FileManager.default.fileExists(atPath: "/dev/xen/evtchn") {
            XCTAssertNoThrow(try XenGrantTable())
            XCTAssertNoThrow(try XenEventChannels())
            return
        }
        XCTAssertThrowsError(try XenGrantTable()) { error in
            XCTAssertEqual(error as? PlatformError, .xenUnavailable(
                "/dev/xen/gntdev is absent: this is not a Xen domain with its grant and event-channel drivers loaded"))
        }
        XCTAssertThrowsError(try XenEventChannels()) { error in
            XCTAssertEqual(error as? PlatformError, .xenUnavailable(
                "/dev/xen/evtchn is absent: this is not a Xen domain with its grant and event-channel drivers loaded"))
        }
    }

    /// Debian's libxengnttab and libxenevtchn load and every function the implementation calls
    /// resolves; their own open then fails cleanly (no device), and that failure is reported.
    func testTheRealLibrariesLoadAndTheirOpenFailureIsReported() throws {
        let libraries: XenLibraries
        do { libraries = try XenLibraries() } catch {
            return XCTFail("\(error) — install Debian's libxen-dev (`make deps` does it)")
        }
        XCTAssertThrowsError(try XenGrantTable(libraries: libraries)) { error in
            guard case .xenUnavailable(let reason)? = error as? PlatformError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.hasPrefix("xengnttab_open cannot open /dev/xen/gntdev: errno "), reason)
        }
        XCTAssertThrowsError(try XenEventChannels(libraries: libraries).allocateUnboundPort(for: .dom0)) { error in
            guard case .xenUnavailable(let reason)? = error as? PlatformError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.hasPrefix("xenevtchn_open cannot open /dev/xen/evtchn: errno "), reason)
        }
    }
}
