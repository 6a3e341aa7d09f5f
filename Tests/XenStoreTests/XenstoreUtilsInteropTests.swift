import XCTest
@testable import XenStore

/// Debian's xenstore-utils (libxenstore), pointed at the embedded server with `XENSTORED_PATH`.
final class XenstoreUtilsInteropTests: XCTestCase {
    private var fixture: ServerFixture!

    override func setUpWithError() throws { fixture = try ServerFixture() }
    override func tearDown() { fixture.tearDown() }

    private func tool(_ name: String, _ arguments: String..., file: StaticString = #filePath, line: UInt = #line) throws -> ToolResult {
        try ToolProcess.run(name, arguments, socketPath: fixture.socketPath, file: file, line: line)
    }

    func testValuesWrittenByToolsAreReadByClientAndBack() throws {
        XCTAssertEqual(try tool("xenstore-write", "/vm/1/name", "alpha", "/vm/1/vcpus", "2").status, 0)
        let client = try fixture.client()
        XCTAssertEqual(try client.read("/vm/1/name"), "alpha")
        XCTAssertEqual(try client.read("/vm/1/vcpus", as: UInt32.self), 2)
        try client.write("/vm/2/name", "beta")
        let read = try tool("xenstore-read", "/vm/2/name")
        XCTAssertEqual(read.status, 0, read.error)
        XCTAssertEqual(read.output, "beta\n")
        let missing = try tool("xenstore-read", "/vm/3/name")
        XCTAssertNotEqual(missing.status, 0)
    }

    func testListingAndRemoval() throws {
        let client = try fixture.client()
        try client.write("/ls/a", "1")
        try client.write("/ls/b/c", "2")
        let listing = try tool("xenstore-ls", "/ls")
        XCTAssertEqual(listing.status, 0, listing.error)
        XCTAssertEqual(listing.output, "a = \"1\"\nb = \"\"\n c = \"2\"\n")
        let withPermissions = try tool("xenstore-ls", "-p", "/ls")
        XCTAssertTrue(withPermissions.output.contains("(n0)"), withPermissions.output)
        XCTAssertEqual(try tool("xenstore-rm", "/ls/b").status, 0)
        XCTAssertEqual(try client.directory("/ls"), ["a"])
    }

    func testToolWatchFiresOnOurWrite() throws {
        let watch = try ToolProcess("xenstore-watch", ["-n", "2", "/watched"], socketPath: fixture.socketPath)
        let client = try fixture.client()
        // The tool registers asynchronously; keep writing until it has seen its two events and exited.
        let deadline = Date(timeIntervalSinceNow: 3)
        while watch.process.isRunning, Date() < deadline {
            try client.write("/watched/node", "v")
            usleep(20_000)
        }
        let result = watch.finish()
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(result.output, "/watched\n/watched/node\n")
    }
}
