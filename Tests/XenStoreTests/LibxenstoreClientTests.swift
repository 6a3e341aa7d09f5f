import Foundation
import TestSupport
import XCTest
@testable import XenStore

/// A C program built at test time against Xen's own libxenstore (Debian libxen-dev), run as a
/// separate process against our server: as domain 0 on the main socket, and as an introduced
/// domain on its own socket.
final class LibxenstoreClientTests: XCTestCase {
    private var fixture: ServerFixture!

    override func setUpWithError() throws { fixture = try ServerFixture() }
    override func tearDown() { fixture.tearDown() }

    /// The C client, compiled once per test run; fails (never skips) without libxen-dev.
    private func clientBinary() throws -> URL {
        guard FileManager.default.fileExists(atPath: "/usr/include/xenstore.h") else {
            throw CPeerError("/usr/include/xenstore.h is missing: install Debian's libxen-dev (`make test` does it)")
        }
        let source = CPeer.sourceDirectory(besides: #filePath).appendingPathComponent("xs_client.c")
        return try CPeer.build([source], bits: .m64, name: "xs_client", flags: ["-Wl,--no-as-needed", "-lxenstore"])
    }

    /// Runs the C client with `arguments`, connected where `XENSTORED_PATH` says.
    private func runClient(_ arguments: [String], socket: String) throws -> ChildResult {
        try ChildProcess.run(try clientBinary().path, arguments, environment: ["XENSTORED_PATH": socket], timeout: .seconds(60))
    }

    func testLibxenstoreClientConforms() throws {
        let result = try runClient(["conformance"], socket: fixture.socketPath)
        XCTAssertEqual(result.status, 0, result.standardOutput + result.standardError)
        XCTAssertEqual(result.standardOutput, "ok binary-value\nok big-directory\nok watch\nok transactions\nok permissions\n")
        XCTAssertEqual(try fixture.server.store.readBytes("/c/bin"), [0xFF, 0xFE, 0x01, 0x00, 0x7A])
        XCTAssertEqual(try fixture.server.store.directory("/c/big").count, 300)
    }

    func testLibxenstoreClientAsAnIntroducedDomainIsDeniedThenAllowed() throws {
        let socket = try fixture.server.introduce(DomainID(7))
        let dom0 = fixture.server.store
        try dom0.write("/c/priv", "secret")
        XCTAssertEqual(try runClient(["read", "/c/priv"], socket: socket).standardOutput, "error EACCES\n")
        XCTAssertEqual(try runClient(["write", "/c/priv", "x"], socket: socket).standardOutput, "error EACCES\n")
        try dom0.setPermissions(Permissions(owner: .dom0, grants: [.init(DomainID(7), .read)]), of: "/c/priv")
        XCTAssertEqual(try runClient(["read", "/c/priv"], socket: socket).standardOutput, "736563726574\n", "hex of \"secret\"")
        XCTAssertEqual(try runClient(["write", "/c/priv", "x"], socket: socket).standardOutput, "error EACCES\n")
        try dom0.mkdir("/local/domain/7")
        try dom0.setPermissions(Permissions(owner: DomainID(7)), of: "/local/domain/7")
        XCTAssertEqual(try runClient(["write", "data", "from-7"], socket: socket).standardOutput, "ok\n")
        XCTAssertEqual(try dom0.read("/local/domain/7/data"), "from-7")
        XCTAssertEqual(try runClient(["read", "/c/priv"], socket: fixture.socketPath).standardOutput, "736563726574\n",
                       "the main socket is still domain 0")
    }

    func testXenstoreUtilsListBigDirectoriesAndShowBinaryValues() throws {
        let names = try makeBigDirectory(fixture.server.store, at: "/big")
        try fixture.server.store.write("/bin", bytes: [0xFF, 0xFE, 0x01])
        let list = try ToolProcess.run("xenstore-list", ["/big"], socketPath: fixture.socketPath)
        XCTAssertEqual(list.status, 0, list.error)
        XCTAssertEqual(list.output.split(separator: "\n").map(String.init), names)
        let listing = try ToolProcess.run("xenstore-ls", ["/"], socketPath: fixture.socketPath)
        XCTAssertEqual(listing.status, 0, listing.error)
        XCTAssertTrue(listing.output.contains("bin = \"\\xff\\xfe\\001\""), listing.output)
        XCTAssertEqual(try runClient(["directory", "/big"], socket: fixture.socketPath).standardOutput, "300\n")
    }
}
