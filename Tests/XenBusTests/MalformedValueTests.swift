// Every malformed value gives its documented outcome: an error naming node and value, a move to
// Closing (the end that read it) — or, for the frontend's documented tolerances, an adjustment.

import BlkifABI
import XCTest
import XenBus
import XenStore

final class MalformedValueTests: XCTestCase {
    /// A valid four-page transport, changed per row.
    static let fourPages: [String: String] = [
        "ring-page-order": "2", "ring-pages": "4", "ring-ref0": "10", "ring-ref1": "11", "ring-ref2": "12", "ring-ref3": "13",
        "event-channel": "9", "protocol": "x86_64-abi",
    ]
    static let onePage: [String: String] = ["ring-ref": "10", "event-channel": "9"]
    static let decimal = UInt32.xenStoreExpectation

    /// What a frontend publishes → the error our backend names (offer: 16 pages, 4 queues).
    static let transportRows: [(String, [String: String], NegotiationError)] = [
        ("non-decimal order", fourPages.merging(["ring-page-order": "two"]) { $1 }, .malformed(node: "ring-page-order", value: "two", expected: decimal)),
        ("negative order", fourPages.merging(["ring-page-order": "-1"]) { $1 }, .malformed(node: "ring-page-order", value: "-1", expected: decimal)),
        ("spaced order", fourPages.merging(["ring-page-order": " 2"]) { $1 }, .malformed(node: "ring-page-order", value: " 2", expected: decimal)),
        ("hex ref", fourPages.merging(["ring-ref1": "0x1"]) { $1 }, .malformed(node: "ring-ref1", value: "0x1", expected: decimal)),
        ("overflowing pages", fourPages.merging(["ring-pages": "4294967296"]) { $1 }, .malformed(node: "ring-pages", value: "4294967296", expected: decimal)),
        ("empty port", fourPages.merging(["event-channel": ""]) { $1 }, .malformed(node: "event-channel", value: "", expected: decimal)),
        ("page order 31", fourPages.merging(["ring-page-order": "31"]) { $1 }, .aboveOffer(node: "ring-page-order", value: 31, limit: 4)),
        ("ring-pages 3", fourPages.merging(["ring-pages": "3"]) { $1 }.filter { $0.key != "ring-page-order" }, .notPowerOfTwo(node: "ring-pages", value: 3)),
        ("ring-pages 0", onePage.merging(["ring-pages": "0"]) { $1 }, .zero(node: "ring-pages")),
        ("ring-pages 32", fourPages.merging(["ring-pages": "32"]) { $1 }.filter { $0.key != "ring-page-order" }, .aboveOffer(node: "ring-pages", value: 32, limit: 16)),
        ("order and pages disagree", fourPages.merging(["ring-pages": "8"]) { $1 }, .inconsistentRingSize(pageOrder: 2, pages: 8)),
        ("ring-ref2 of 4 missing", fourPages.filter { $0.key != "ring-ref2" }, .missing(node: "ring-ref2")),
        ("ring-ref and ring-ref0", onePage.merging(["ring-ref0": "10"]) { $1 }, .bothRingReferenceForms(directory: "")),
        ("ring-ref with four pages", fourPages.merging(["ring-ref": "10"]) { $1 }, .bothRingReferenceForms(directory: "")),
        ("no ring-ref", ["event-channel": "9"], .missing(node: "ring-ref")),
        ("no event channel", ["ring-ref": "10"], .missing(node: "event-channel")),
        ("requests above ring", onePage.merging(["max-requests": "33"]) { $1 }, .requestsExceedRing(requests: 33, entries: 32)),
        ("zero requests", onePage.merging(["max-requests": "0"]) { $1 }, .zero(node: "max-requests")),
        ("segments above offer", onePage.merging(["max-request-segments": "12"]) { $1 }, .aboveOffer(node: "max-request-segments", value: 12, limit: 11)),
        ("size above segments", onePage.merging(["max-request-size": "45057"]) { $1 }, .aboveOffer(node: "max-request-size", value: 45057, limit: 45056)),
        ("zero queues", onePage.merging(["multi-queue-num-queues": "0"]) { $1 }, .zero(node: "multi-queue-num-queues")),
        ("queues above offer", onePage.merging(["multi-queue-num-queues": "5"]) { $1 }, .aboveOffer(node: "multi-queue-num-queues", value: 5, limit: 4)),
        ("queue-1 ring missing", ["multi-queue-num-queues": "2", "queue-0/ring-ref": "1", "queue-0/event-channel": "2", "queue-1/event-channel": "3"],
         .missing(node: "queue-1/ring-ref")),
        ("unknown protocol", onePage.merging(["protocol": "sparc-abi"]) { $1 }, .unknownProtocol("sparc-abi")),
    ]

    func testBackendNamesEachMalformedTransportAndCloses() throws {
        for (label, nodes, expected) in Self.transportRows {
            XCTAssertThrowsError(try NegotiatedConnection.accept(NodeValues(nodes), offer: BackendOffer(maximumQueues: 4), schemes: .both), label) {
                XCTAssertEqual($0 as? NegotiationError, expected, label)
            }
            let fixture = try DeviceFixture()
            let backend = try fixture.backend(offer: BackendOffer(maximumQueues: 4))
            try backend.advance()
            XCTAssertEqual(backend.state, .initWait, label)
            try fixture.writeFrontend(nodes.merging(["state": "3"]) { $1 })
            try backend.advance()
            XCTAssertEqual(backend.state, .closing, label)
            XCTAssertEqual(try fixture.backendNode("state"), "5", label)
            let error = try XCTUnwrap(try fixture.backendNode("error"), label)
            XCTAssertTrue(error.hasSuffix(expected.description), "\(label): \(error)")
            XCTAssertNil(backend.connection, label)
        }
    }

    func testDirectoryFloodIsRefusedWithoutReadingItAll() throws {
        let fixture = try DeviceFixture()
        let backend = try fixture.backend()
        try backend.advance()
        let queues = try fixture.device.frontendPath.appending("queue-0")
        for index in 0..<1100 { try fixture.store.write(queues.appending("n\(index)"), "1") }
        try fixture.writeFrontend(Self.onePage.merging(["state": "3"]) { $1 })
        try backend.advance()
        XCTAssertEqual(backend.state, .closing)
        XCTAssertTrue(backend.closeReason?.contains("more than a block device publishes") == true, backend.closeReason ?? "")
    }

    func testArmProtocolIsTheX86_64Layout() throws {
        let connection = try NegotiatedConnection.accept(NodeValues(Self.onePage.merging(["protocol": "arm-abi"]) { $1 }),
                                                         offer: BackendOffer(), schemes: .both)
        XCTAssertEqual(connection.abi, .x86_64)
        XCTAssertEqual(try NegotiatedConnection.accept(NodeValues(Self.onePage), offer: BackendOffer(), schemes: .both).abi, ABI.native.resolved)
        let x86_32 = try NegotiatedConnection.accept(NodeValues(Self.onePage.merging(["protocol": "x86_32-abi"]) { $1 }),
                                                     offer: BackendOffer(), schemes: .both)
        XCTAssertEqual(x86_32.abi, .x86_32)
    }

    func testSinglePageMayBeNamedRingRef0() throws {
        let connection = try NegotiatedConnection.accept(["ring-page-order": "0", "ring-ref0": "77", "event-channel": "3"],
                                                         offer: BackendOffer(), schemes: .both)
        XCTAssertEqual(connection.queues, [QueueRing(ringReferences: [GrantRef(77)], eventChannel: EventChannelPort(3))])
    }

    /// What a backend publishes → the frontend's documented tolerance (pages used, adjustment).
    static let offerRows: [(String, [String: String], pages: Int, adjusted: String?)] = [
        ("page order 31", ["max-ring-page-order": "31"], 16, "max-ring-pages"),
        ("ring-pages 3 rounds down", ["max-ring-pages": "3"], 2, "max-ring-pages"),
        ("ring-pages 0 means one", ["max-ring-pages": "0"], 1, "max-ring-pages"),
        ("ring-pages overrides order", ["max-ring-page-order": "1", "max-ring-pages": "8"], 8, nil),
        ("segments above 255", ["max-request-segments": "300"], 1, "max-request-segments"),
        ("requests above the ring", ["max-requests": "4096"], 1, "max-requests"),
    ]

    func testFrontendToleratesOutOfRangeOffersAsTheSeedDoes() throws {
        for (label, nodes, pages, adjusted) in Self.offerRows {
            let (offer, parseNotes) = try BackendOffer.parse(NodeValues(nodes), schemes: .both)
            let (choice, chooseNotes) = TransportChoice.choose(from: offer, limits: FrontendLimits(ringPages: 16))
            XCTAssertEqual(choice.geometry.pageCount, pages, label)
            let notes = parseNotes + chooseNotes
            if let adjusted { XCTAssertTrue(notes.contains { $0.node == adjusted }, "\(label): \(notes)") }
            XCTAssertLessThanOrEqual(choice.maximumRequests, choice.geometry.entryCount, label)
            XCTAssertTrue((11...255).contains(choice.maximumSegments), label)
        }
    }

    /// Values the frontend cannot read at all: it names them in its `error` node and closes.
    static let fatalOfferRows: [(String, [String: String], NegotiationError)] = [
        ("non-decimal order", ["max-ring-page-order": "four"], .malformed(node: "max-ring-page-order", value: "four", expected: decimal)),
        ("negative pages", ["max-ring-pages": "-4"], .malformed(node: "max-ring-pages", value: "-4", expected: decimal)),
        ("overflowing requests", ["max-requests": "99999999999"], .malformed(node: "max-requests", value: "99999999999", expected: decimal)),
        ("feature flag 2", ["feature-barrier": "2"], .malformed(node: "feature-barrier", value: "2", expected: Bool.xenStoreExpectation)),
    ]

    func testFrontendNamesUnreadableOfferAndCloses() throws {
        for (label, nodes, expected) in Self.fatalOfferRows {
            let fixture = try DeviceFixture()
            let frontend = try fixture.frontend()
            try fixture.writeBackend(nodes.merging(["state": "2"]) { $1 })
            try pump(frontend, nil) { frontend.state == .closing }
            XCTAssertEqual(frontend.closeReason, expected.description, label)
            XCTAssertEqual(try fixture.frontendNode("error"), expected.description, label)
            XCTAssertNil(try fixture.frontendNode("ring-ref"), label)
        }
    }

    func testDiskNodesAreChecked() throws {
        XCTAssertThrowsError(try DiskProperties(parsing: ["sector-size": "512"])) {
            XCTAssertEqual($0 as? NegotiationError, .missing(node: "sectors"))
        }
        XCTAssertThrowsError(try DiskProperties(parsing: ["sectors": "8", "sector-size": "1000"])) {
            XCTAssertEqual($0 as? NegotiationError, .malformed(node: "sector-size", value: "1000", expected: "a power of two of at least 512"))
        }
        let disk = try DiskProperties(parsing: ["sectors": "8", "sector-size": "4096", "info": "4"])
        XCTAssertEqual(disk, DiskProperties(sectors: Sector(8), sectorSize: 4096, physicalSectorSize: 4096, info: .readOnly))
    }
}
