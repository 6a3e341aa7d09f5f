import Glibc
import TestSupport
import XCTest
@testable import XenStore

/// Malformed input from one client: it gets XS_ERROR or is dropped; others and the tree are untouched.
final class RobustnessTests: XCTestCase {
    private var fixture: ServerFixture!
    private var bystander: XenStoreClient!

    override func setUpWithError() throws {
        fixture = try ServerFixture()
        bystander = try fixture.client()
        try bystander.write("/intact", "yes")
        try bystander.watch("/intact", token: "b")
        XCTAssertEqual(bystander.events.next(timeout: .seconds(2))?.path, "/intact")
    }

    override func tearDown() {
        bystander.close()
        fixture.tearDown()
    }

    /// The bystander still works, its watch still fires, and the tree holds only what it wrote.
    private func assertUnharmed(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try bystander.read("/intact"), "yes", file: file, line: line)
        try bystander.write("/intact/probe", "1")
        XCTAssertEqual(bystander.events.next(timeout: .seconds(2))?.path, "/intact/probe", file: file, line: line)
        XCTAssertEqual(try bystander.directory("/"), ["intact"], file: file, line: line)
    }

    private func assertError(_ reply: WireMessage?, _ code: XSDError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(reply?.type, WireType.error.rawValue, file: file, line: line)
        XCTAssertEqual(reply.flatMap { WireMessage.splitStrings($0.payload) }, [code.rawValue], file: file, line: line)
    }

    func testTruncatedHeaderThenDisconnect() throws {
        let raw = try RawConnection(fixture.socketPath)
        raw.send(Array(rawHeader(type: WireType.write.rawValue, length: 10).prefix(9)))
        XCTAssertNil(raw.receive(timeout: 100), "an incomplete header gets no reply")
        try assertUnharmed()
    }

    func testTruncatedPayloadThenDisconnect() throws {
        do {
            let raw = try RawConnection(fixture.socketPath)
            raw.send(rawHeader(type: WireType.write.rawValue, length: 100) + Array("/half\0val".utf8))
        }
        try assertUnharmed()
    }

    func testOversizedLengthGetsE2BIGAndIsDropped() throws {
        let raw = try RawConnection(fixture.socketPath)
        raw.send(rawHeader(type: WireType.write.rawValue, length: 4097) + Array("/x\0y".utf8))
        assertError(raw.receive(), .E2BIG)
        XCTAssertTrue(raw.isClosedByServer())
        try assertUnharmed()
    }

    func testPathOverTheLimitGetsEINVAL() throws {
        let raw = try RawConnection(fixture.socketPath)
        let longPath = "/" + String(repeating: "a", count: 3100)
        let payload = Array(longPath.utf8) + [0] + Array("v".utf8)
        raw.send(rawHeader(type: WireType.write.rawValue, length: UInt32(payload.count)) + payload)
        assertError(raw.receive(), .EINVAL)
        try assertUnharmed()
    }

    func testGarbageGetsErrorsAndConnectionKeepsWorking() throws {
        let raw = try RawConnection(fixture.socketPath)
        let cases: [(UInt32, [UInt8], XSDError)] = [
            (9999, Array("x\0".utf8), .ENOSYS),                      // unknown type
            (WireType.control.rawValue, [0], .ENOSYS),                // not implemented
            (WireType.read.rawValue, Array("/intact".utf8), .EINVAL), // no NUL terminator
            (WireType.write.rawValue, Array("/no-nul".utf8), .EINVAL),
            (WireType.read.rawValue, Array("/bad path\0".utf8), .EINVAL),
            (WireType.watchEvent.rawValue, Array("/a\0t\0".utf8), .ENOSYS),       // no handler, as in xenstored
            (WireType.setPerms.rawValue, Array("/intact\0q7\0".utf8), .EINVAL),
            (WireType.transactionEnd.rawValue, Array("T\0".utf8), .ENOENT),
            (WireType.watch.rawValue, Array("/only-path\0".utf8), .EINVAL),
            (WireType.read.rawValue, [0xFF, 0xFE, 0], .EINVAL),
        ]
        for (type, payload, code) in cases {
            raw.send(rawHeader(type: type, length: UInt32(payload.count)) + payload)
            assertError(raw.receive(), code)
        }
        let read = Array("/intact\0".utf8)
        raw.send(rawHeader(type: WireType.read.rawValue, requestID: 42, length: UInt32(read.count)) + read)
        let reply = raw.receive()
        XCTAssertEqual(reply?.requestID, 42)
        XCTAssertEqual(reply?.payload, Array("yes".utf8))
        try assertUnharmed()
    }

    func testRandomBytesNeverHurtTheServer() throws {
        let seed = PropertyTestConfiguration.seed
        var generator = SplitMix64(seed: seed)
        addTeardownBlock { if self.testRun?.hasSucceeded == false { print("random bytes seed: BLKIF_FUZZ_SEED=\(seed)") } }
        for _ in 0..<20 {
            let raw = try RawConnection(fixture.socketPath)
            raw.send((0..<Int.random(in: 1...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        try assertUnharmed()
    }

    func testClientDisconnectingMidTransactionLeavesNoTrace() throws {
        do {
            let client = try fixture.client()
            let tx = try client.startTransaction()
            try client.write("/ghost", value: "1", transaction: tx)
            try client.watch("/", token: "gone")
        }
        try assertUnharmed()
    }
}
