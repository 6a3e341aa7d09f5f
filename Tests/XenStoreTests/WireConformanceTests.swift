import XCTest
@testable import XenStore

/// The wire protocol, message by message, as Xen's docs/misc/xenstore.txt defines it and its
/// C xenstored (Xen 4.17) answers. Each test quotes the rule it checks.
final class WireConformanceTests: XCTestCase {
    private var fixture: ServerFixture!
    private var raw: RawConnection!

    override func setUpWithError() throws {
        fixture = try ServerFixture()
        raw = try RawConnection(fixture.socketPath)
    }

    override func tearDown() {
        raw = nil
        fixture.tearDown()
    }

    /// "Generally requests each generate a reply with an identical type, req_id and tx_id.
    /// However, if an error occurs, a reply will be returned with type ERROR, and only req_id
    /// and tx_id copied from the request."
    func testRepliesEchoTypeRequestIDAndTransactionID() throws {
        let write = raw.request(.write, Array("/echo\0v".utf8), requestID: 0xDEAD_BEEF)
        XCTAssertEqual(write?.type, WireType.write.rawValue)
        XCTAssertEqual(write?.requestID, 0xDEAD_BEEF)
        XCTAssertEqual(replyStrings(write), ["OK"])
        let start = raw.request(.transactionStart, [0], requestID: 3)
        let tx = try XCTUnwrap(replyStrings(start)?.first.flatMap { UInt32($0) })
        let read = raw.request(.read, strings: ["/echo"], requestID: 4, transactionID: tx)
        XCTAssertEqual(read?.type, WireType.read.rawValue)
        XCTAssertEqual(read?.transactionID, tx)
        XCTAssertEqual(read?.payload, Array("v".utf8))
        let missing = raw.request(.read, strings: ["/absent"], requestID: 5, transactionID: tx)
        XCTAssertEqual(errorName(missing), "ENOENT")
        XCTAssertEqual(missing?.requestID, 5)
        XCTAssertEqual(missing?.transactionID, tx)
    }

    /// "READ <path>| <value|>, WRITE <path>|<value|>: Store and read the octet string <value>."
    /// Bytes that are not UTF-8, and NULs, come back unchanged; a String read refuses to alter them.
    func testValuesAreOctetStrings() throws {
        let value: [UInt8] = [0xFF, 0xFE, 0x01, 0x00, 0x7A, 0xC3]
        XCTAssertEqual(replyStrings(raw.request(.write, Array("/u/bin\0".utf8) + value)), ["OK"])
        XCTAssertEqual(raw.request(.read, strings: ["/u/bin"])?.payload, value)
        let client = try fixture.client()
        XCTAssertEqual(try client.readBytes("/u/bin"), value)
        XCTAssertThrowsError(try client.read("/u/bin")) {
            XCTAssertEqual($0 as? XenStoreError,
                           .malformedValue(path: "/u/bin", value: "\\xff\\xfe\\x01\\x00z\\xc3", expected: "UTF-8 text"))
        }
        try client.write("/u/round", bytes: value)
        XCTAssertEqual(try fixture.server.store.readBytes("/u/round"), value)
        XCTAssertThrowsError(try fixture.server.store.read("/u/bin", as: String.self)) {
            XCTAssertEqual(($0 as? XenStoreError)?.description, "/u/bin = \"\\xff\\xfe\\x01\\x00z\\xc3\" is not UTF-8 text")
        }
    }

    /// "WATCH <wpath>|<token>|", "WATCH_EVENT <epath>|<token>|": the token is a string without
    /// NULs, echoed in every event byte for byte.
    func testWatchTokensAreEchoedByteForByte() throws {
        let token: [UInt8] = [0xFF, 0xFE, 0x80, 0x41]
        XCTAssertEqual(replyStrings(raw.request(.watch, WireMessage.fields([Array("/tok".utf8), token]))), ["OK"])
        let first = raw.receive()
        XCTAssertEqual(first?.type, WireType.watchEvent.rawValue)
        XCTAssertEqual(first.flatMap { WireMessage.splitFields($0.payload) }, [Array("/tok".utf8), token])
        let client = try fixture.client()
        try client.watch("/tok", token: WatchToken(bytes: token))
        XCTAssertEqual(client.events.next(timeout: .seconds(2))?.token.bytes, token)
    }

    /// xenstored's `onearg`: "The payload must contain exactly one nul, at the end."
    func testOneArgumentRequestsCarryExactlyOneNUL() throws {
        XCTAssertEqual(replyStrings(raw.request(.write, Array("/a\0v".utf8))), ["OK"])
        for type in [WireType.read, .directory, .getPerms, .mkdir, .rm] {
            XCTAssertEqual(errorName(raw.request(type, Array("/a\0junk\0".utf8))), "EINVAL", "\(type)")
            XCTAssertEqual(errorName(raw.request(type, Array("/a".utf8))), "EINVAL", "\(type) unterminated")
        }
        XCTAssertEqual(errorName(raw.request(.transactionEnd, Array("T\0x\0".utf8), transactionID: 1)), "EINVAL")
        XCTAssertEqual(errorName(raw.request(.getDomainPath, Array("3\0\0".utf8))), "EINVAL")
        XCTAssertEqual(raw.request(.read, strings: ["/a"])?.payload, Array("v".utf8), "the node was not touched")
    }

    /// "The payload length (len field of the header) is limited to 4096 (XENSTORE_PAYLOAD_MAX)
    /// in both directions": xenstored answers `E2BIG` for a reply that would be longer.
    func testReplyOverPayloadMaxIsE2BIG() throws {
        _ = try makeBigDirectory(fixture.server.store, at: "/big")
        let reply = raw.request(.directory, strings: ["/big"], requestID: 11)
        XCTAssertEqual(errorName(reply), "E2BIG")
        XCTAssertEqual(reply?.requestID, 11)
        XCTAssertEqual(replyStrings(raw.request(.read, strings: ["/big"])), [], "the connection still works")
    }

    /// "DIRECTORY_PART <path>|<offset> <gencnt>|<child-leaf-name>|*: Same as DIRECTORY, but to
    /// be used for children lists longer than XENSTORE_PAYLOAD_MAX ... <gencnt> being the same
    /// for multiple reads guarantees the node hasn't changed."
    func testDirectoryPartListsBigDirectoriesInPieces() throws {
        let names = try makeBigDirectory(fixture.server.store, at: "/big")
        var list: [UInt8] = [], generations: Set<[UInt8]> = [], pieces = 0
        while pieces < 10 {
            let reply = try XCTUnwrap(raw.request(.directoryPart, strings: ["/big", String(list.count)]))
            XCTAssertEqual(reply.type, WireType.directoryPart.rawValue)
            XCTAssertLessThanOrEqual(reply.payload.count, WireMessage.payloadMax)
            let piece = try XCTUnwrap(DirectoryPart.piece(reply.payload))
            generations.insert(piece.generation)
            list += piece.names
            pieces += 1
            if piece.isLast { break }
        }
        XCTAssertEqual(pieces, 3, "8,400 bytes of names take three pieces")
        XCTAssertEqual(generations.count, 1)
        XCTAssertEqual(WireMessage.splitStrings(list), names)
        let past = raw.request(.directoryPart, strings: ["/big", "99999"])
        XCTAssertEqual(past.flatMap { DirectoryPart.piece($0.payload) }?.names, [], "an offset past the end lists nothing")
        XCTAssertEqual(errorName(raw.request(.directoryPart, strings: ["/big"])), "EINVAL", "the offset is required")
        XCTAssertEqual(try fixture.client().directory("/big"), names, "our client falls back to DIRECTORY_PART on E2BIG")
        try fixture.server.store.write("/big/another", "")
        let changed = raw.request(.directoryPart, strings: ["/big", "0"]).flatMap { DirectoryPart.piece($0.payload) }
        XCTAssertFalse(generations.contains(changed?.generation ?? []), "a change moves the generation")
    }

    /// Over-long events: the limit "holds in both directions", and xenstored drops an event
    /// it cannot send ("Don't try to send over-long events").
    func testOverlongWatchEventIsDroppedAndTheConnectionKeepsWorking() throws {
        let path = "/" + String(repeating: "p", count: 90)
        let token = [UInt8](repeating: UInt8(ascii: "t"), count: WireMessage.payloadMax - path.utf8.count - 2)
        XCTAssertEqual(replyStrings(raw.request(.watch, WireMessage.fields([Array(path.utf8), token]))), ["OK"])
        XCTAssertEqual(raw.receive()?.payload.count, WireMessage.payloadMax, "the initial event just fits")
        try fixture.server.store.write(try XenStorePath(path + "/child"), "1")
        XCTAssertEqual(replyStrings(raw.request(.watch, strings: ["/short", "s"])), ["OK"])
        let next = raw.receive()
        XCTAssertEqual(replyStrings(next), ["/short", "s"], "the 4102-byte event was dropped, never sent")
    }

    /// "RESET_WATCHES |: Reset all watches and transactions of the caller."
    func testResetWatchesEndsTheCallersTransactionsToo() throws {
        XCTAssertEqual(replyStrings(raw.request(.watch, strings: ["/r", "t"])), ["OK"])
        XCTAssertEqual(raw.receive()?.type, WireType.watchEvent.rawValue)
        let tx = try XCTUnwrap(replyStrings(raw.request(.transactionStart, [0]))?.first.flatMap { UInt32($0) })
        XCTAssertEqual(replyStrings(raw.request(.resetWatches, [0])), ["OK"])
        XCTAssertEqual(errorName(raw.request(.read, strings: ["/"], transactionID: tx)), "ENOENT", "the transaction is gone")
        XCTAssertEqual(errorName(raw.request(.unwatch, strings: ["/r", "t"])), "ENOENT", "the watch is gone")
        try fixture.server.store.write("/r", "1")
        XCTAssertNil(raw.receive(timeout: 200), "no event for a reset watch")
    }

    /// xenstored answers `ENOSYS` to any type without a handler, client-sent `WATCH_EVENT` and
    /// `ERROR` included ("WATCH_EVENT: Unsolicited `reply' generated" by xenstored only).
    func testTypesWithoutHandlerGetENOSYS() throws {
        for type in [WireType.watchEvent.rawValue, WireType.error.rawValue, WireType.control.rawValue, 23, 9999] {
            XCTAssertEqual(errorName(rawReply(type: type)), "ENOSYS", "type \(type)")
        }
    }

    /// "It is possible to set permissions for the special watch paths "@introduceDomain" and
    /// "@releaseDomain" to enable receiving those watches in unprivileged domains."
    func testSetPermsOnSpecialPathsIsAllowed() throws {
        XCTAssertEqual(replyStrings(raw.request(.setPerms, strings: ["@introduceDomain", "n0", "r5"])), ["OK"])
        XCTAssertEqual(replyStrings(raw.request(.setPerms, strings: ["@releaseDomain", "n0", "r5"])), ["OK"])
        XCTAssertEqual(errorName(raw.request(.setPerms, strings: ["@otherEvent", "n0"])), "EINVAL")
        XCTAssertEqual(errorName(raw.request(.getPerms, strings: ["@introduceDomain"])), "EINVAL", "special paths name no node")
    }

    /// Watch paths are compared in canonical form (xenstored canonicalizes before comparing):
    /// a relative watch is the same watch as its absolute path.
    func testWatchPathsAreComparedInCanonicalForm() throws {
        XCTAssertEqual(replyStrings(raw.request(.watch, strings: ["rel", "t"])), ["OK"])
        XCTAssertEqual(replyStrings(raw.receive()), ["rel", "t"], "a relative watch's events are relative")
        XCTAssertEqual(errorName(raw.request(.watch, strings: ["/local/domain/0/rel", "t"])), "EEXIST")
        XCTAssertEqual(replyStrings(raw.request(.unwatch, strings: ["/local/domain/0/rel", "t"])), ["OK"])
        XCTAssertEqual(errorName(raw.request(.unwatch, strings: ["rel", "t"])), "ENOENT")
    }

    /// "The tx_id in a WATCH request is ignored."
    func testWatchIgnoresTransactionID() throws {
        XCTAssertEqual(replyStrings(raw.request(.watch, strings: ["/w", "t"], transactionID: 77)), ["OK"])
    }

    /// TRANSACTION_START: "It is not legal to send non-0 tx_id". TRANSACTION_END: "tx_id must
    /// refer to existing transaction. After this request the tx_id is no longer valid";
    /// "if there were any other intervening writes then our END gets EAGAIN".
    func testTransactionRules() throws {
        let tx = try XCTUnwrap(replyStrings(raw.request(.transactionStart, [0]))?.first.flatMap { UInt32($0) })
        XCTAssertNotNil(errorName(raw.request(.transactionStart, [0], transactionID: tx)), "no nested transactions")
        XCTAssertEqual(replyStrings(raw.request(.read, strings: ["/"], transactionID: tx)), [])
        try fixture.server.store.write("/intervening", "1")
        XCTAssertEqual(replyStrings(raw.request(.write, Array("/mine\0x".utf8), transactionID: tx)), ["OK"])
        XCTAssertEqual(errorName(raw.request(.transactionEnd, strings: ["T"], transactionID: tx)), "EAGAIN")
        XCTAssertEqual(errorName(raw.request(.transactionEnd, strings: ["F"], transactionID: tx)), "ENOENT", "ended")
        XCTAssertEqual(errorName(raw.request(.transactionEnd, strings: ["T"], transactionID: 4242)), "ENOENT")
        XCTAssertEqual(errorName(raw.request(.read, strings: ["/mine"])), "ENOENT", "nothing was applied")
    }

    /// "RM: It is not an error if <path> does not exist, but it _is_ an error if <path>'s
    /// immediate parent does not exist either."
    func testRemoveRules() throws {
        XCTAssertEqual(replyStrings(raw.request(.rm, strings: ["/nothing"])), ["OK"])
        XCTAssertEqual(errorName(raw.request(.rm, strings: ["/nothing/below"])), "ENOENT")
    }

    /// Domain 0 has no watch and no transaction quota in xenstored; unprivileged domains do.
    func testDomainZeroHasNoWatchOrTransactionQuota() throws {
        let client = try fixture.client()
        for index in 0..<300 { try client.watch(try XenStorePath("/q/\(index)"), token: "q") }
        let transactions = try (0..<100).map { _ in try client.startTransaction() }
        XCTAssertEqual(Set(transactions).count, 100)
    }

    /// Sends a raw header of any type and returns the reply.
    private func rawReply(type: UInt32) -> WireMessage? {
        let payload = Array("/a\0t\0".utf8)
        raw.send(rawHeader(type: type, length: UInt32(payload.count)) + payload)
        return raw.receive()
    }
}
