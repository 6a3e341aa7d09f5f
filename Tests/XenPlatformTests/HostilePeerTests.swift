// A peer that breaks the loopback protocol, or a granter whose table lies.

import BlkifABI
import CXenPlatform
import Glibc
import XCTest
import XenStore
@testable import XenPlatform

final class HostilePeerTests: XCTestCase {
    private var directory: SocketDirectory!
    private var platform: LoopbackPlatform!

    override func setUpWithError() throws {
        directory = try SocketDirectory()
        platform = try LoopbackPlatform(domain: DomainID(1), directory: directory.path)
    }

    override func tearDown() {
        platform?.close()
        (platform, directory) = (nil, nil)  // XCTest keeps the case: release the descriptors now
    }

    /// A raw connection to our platform's socket.
    private func connect() throws -> Int32 {
        let socket = cxp_connect_unix(platform.socketPath)
        guard socket >= 0 else { throw PeerError("connect: errno \(-socket)") }
        return socket
    }

    /// Sends `words` as a hello and returns the reply's words, closing any descriptors it carried.
    private func hello(_ words: [UInt32], on socket: Int32) throws -> [UInt32]? {
        try LoopbackWire.send(words, on: socket)
        let reply = try LoopbackWire.receive(on: socket, timeout: .seconds(5))
        reply?.closeDescriptors()
        return reply?.words
    }

    private func helloWords(_ domain: UInt16, version: UInt32 = LoopbackWire.version) -> [UInt32] {
        [LoopbackWire.magic, version | UInt32(domain) << 16]
    }

    /// Garbage, a wrong magic or version, or a claim to be the server's own domain: refused
    /// with a status, then the connection is closed.
    func testAMalformedHelloIsRefusedAndClosed() throws {
        let bad = LoopbackWire.Status.badRequest.rawValue
        for words in [[0xDEAD_BEEF], [LoopbackWire.magic], helloWords(0, version: 9), helloWords(1), [0] + helloWords(0)] {
            let socket = try connect()
            defer { close(socket) }
            XCTAssertEqual(try hello(words, on: socket), [bad], "\(words)")
            XCTAssertNil(try LoopbackWire.receive(on: socket, timeout: .seconds(5)), "closed after \(words)")
        }
    }

    /// One connection per domain: a second claim of a connected domain is refused; once the
    /// first goes, the domain can connect again.
    func testADomainConnectsOnceAtATime() throws {
        let first = try connect()
        XCTAssertEqual(try hello(helloWords(4), on: first)?.first, LoopbackWire.Status.ok.rawValue)
        let second = try connect()
        defer { close(second) }
        XCTAssertEqual(try hello(helloWords(4), on: second), [LoopbackWire.Status.domainAlreadyConnected.rawValue])
        close(first)
        let third = try connect()
        defer { close(third) }
        XCTAssertEqual(try hello(helloWords(4), on: third)?.first, LoopbackWire.Status.ok.rawValue)
    }

    /// After a good hello, a request that is not a bind is answered `badRequest` and the peer dropped.
    func testAMalformedRequestDropsThePeer() throws {
        let socket = try connect()
        defer { close(socket) }
        XCTAssertEqual(try hello(helloWords(4), on: socket)?.first, LoopbackWire.Status.ok.rawValue)
        XCTAssertEqual(try hello([77, 1, 2], on: socket), [LoopbackWire.Status.badRequest.rawValue])
        XCTAssertNil(try LoopbackWire.receive(on: socket, timeout: .seconds(5)))
    }

    /// A granter whose table names a frame outside its arena gets a typed error from the
    /// mapper, never a fault.
    func testAGrantNamingAFrameOutsideTheArenaIsRefused() throws {
        let peer = try PeerProcess(domain: 0, directory: directory.path)
        defer { try? peer.kill() }
        let forged = GrantRef(100)
        GrantEntryV1(table: platform.table.base, ref: forged).grant(frame: 1 << 20, to: .dom0, access: .readWrite)
        XCTAssertEqual(try peer.failure("map 1 ro \(forged.rawValue)"),
                       PlatformError.frameOutOfRange(forged, frame: 1 << 20, pages: platform.arenaPages).description)
    }
}
