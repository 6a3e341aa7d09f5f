// The state machine: the pure transition functions, then the drivers through each path the seed
// describes or tolerates.

import BlkifABI
import XCTest
import XenBus
import XenStore

final class TransitionTableTests: XCTestCase {
    func testFrontendTransitions() {
        let rows: [(XenbusState, PeerState, Bool, Bool, FrontendStep)] = [
            (.initialising, .state(.initialising), false, false, .wait),
            (.initialising, .state(.initWait), false, false, .publishTransport),
            (.initialising, .state(.connected), false, false, .publishTransport),  // backend skipped InitWait
            (.initialised, .state(.initWait), false, false, .wait),
            (.initialised, .state(.connected), false, false, .connect),
            (.connected, .state(.connected), false, false, .wait),
            (.connected, .state(.closing), false, false, .beginClose),
            (.connected, .state(.closing), false, true, .deferClose),
            (.connected, .state(.connected), true, true, .deferClose),
            (.connected, .state(.connected), true, false, .beginClose),
            (.closing, .state(.connected), true, false, .wait),
            (.closing, .state(.closing), false, false, .finishClose),
            (.connected, .state(.closed), false, false, .finishClose),
            (.initialising, .state(.closed), false, false, .wait),  // a backend about to restart
            (.closed, .state(.initWait), false, false, .wait),
            (.connected, .vanished, false, true, .abandon(reason: "backend vanished")),
            (.initialised, .garbage("x"), false, false, .abandon(reason: "backend garbage state \"x\"")),
            (.closed, .vanished, false, false, .wait),
        ]
        for (own, peer, close, inUse, expected) in rows {
            XCTAssertEqual(FrontendTransitions.next(own: own, peer: peer, closeRequested: close, inUse: inUse), expected,
                           "frontend \(own), backend \(peer), close \(close), in use \(inUse)")
        }
    }

    func testBackendTransitions() {
        let rows: [(XenbusState, PeerState, Bool, BackendStep)] = [
            (.initialising, .state(.initialising), false, .publishOffer),
            (.initialising, .state(.initialised), false, .publishOffer),  // frontend did not wait
            (.initWait, .state(.initialising), false, .wait),
            (.initWait, .state(.initialised), false, .connect),
            (.connected, .state(.connected), false, .wait),
            (.connected, .state(.connected), true, .beginClose),
            (.connected, .state(.closing), false, .beginClose),
            (.closing, .state(.connected), true, .wait),  // keeps serving
            (.closing, .state(.closed), true, .finishClose),
            (.connected, .state(.closed), false, .finishClose),
            (.closed, .state(.initialising), false, .publishOffer),  // reconnect
            (.closed, .state(.initialising), true, .wait),
            (.connected, .vanished, false, .abandon(reason: "frontend vanished")),
            (.closed, .garbage("7x"), false, .wait),
        ]
        for (own, peer, close, expected) in rows {
            XCTAssertEqual(BackendTransitions.next(own: own, peer: peer, closeRequested: close), expected,
                           "backend \(own), frontend \(peer), close \(close)")
        }
    }

    func testPeerStateParsing() {
        XCTAssertEqual(PeerState(nodeValue: "4"), .state(.connected))
        XCTAssertEqual(PeerState(nodeValue: nil), .vanished)
        for garbage in ["", "9", "-1", "04x", "256", " 4"] { XCTAssertEqual(PeerState(nodeValue: garbage), .garbage(garbage)) }
    }
}

final class StateMachineTests: XCTestCase {
    func testFrontendThatDoesNotWaitForInitWait() throws {
        let fixture = try DeviceFixture()
        // A legacy frontend: one page, defaults, straight to Initialised before the backend runs.
        try fixture.writeFrontend(["ring-ref": "42", "event-channel": "3", "state": "3"])
        let backend = try fixture.backend()
        try backend.advance()
        XCTAssertEqual(backend.state, .connected)
        XCTAssertEqual(backend.connection?.geometry.pageCount, 1)
        XCTAssertEqual(backend.connection?.queues, [QueueRing(ringReferences: [GrantRef(42)], eventChannel: EventChannelPort(3))])
        XCTAssertEqual(try fixture.backendNode("max-ring-pages"), "16")  // the offer was published on the way
        XCTAssertEqual(try fixture.backendNode("sectors"), "8192")
    }

    func testBackendThatReachesInitWaitAfterFrontendIsInitialised() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend()
        // A backend instance published its offer and went away before connecting; the frontend chose 4 pages.
        try fixture.writeBackend(BackendOffer().nodes(schemes: .both).merging(["state": "2"]) { $1 })
        try frontend.advance()
        XCTAssertEqual(frontend.state, .initialised)
        try fixture.writeBackend(["state": "1"])
        let backend = try fixture.backend()  // a new instance starts at Initialising
        try connect(frontend, backend)
        XCTAssertEqual(backend.connection?.geometry.pageCount, 4)
        XCTAssertEqual(frontend.connection, backend.connection)
    }

    func testFrontendToleratesBackendThatSkipsInitWait() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend()
        try fixture.writeBackend(["state": "4", "sectors": "64", "sector-size": "512"])  // no offer: one page
        try pump(frontend, nil) { frontend.state == .connected }
        XCTAssertEqual(frontend.connection?.geometry.pageCount, 1)
        XCTAssertEqual(frontend.disk?.sectors, Sector(64))
    }

    func testShutdownWaitsForTheLastUser() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend(), backend = try fixture.backend()
        try connect(frontend, backend)
        frontend.beginUse()
        frontend.beginUse()
        backend.requestClose()
        try pump(frontend, backend) { backend.state == .closing }
        for _ in 0..<20 {
            try backend.advance()
            try frontend.advance()
        }
        XCTAssertEqual(frontend.state, .connected)  // close deferred while in use
        XCTAssertEqual(backend.state, .closing)  // still serving
        XCTAssertNotNil(backend.connection)
        frontend.endUse()
        try frontend.advance()
        XCTAssertEqual(frontend.state, .connected)
        frontend.endUse()
        try pump(frontend, backend) { frontend.state == .closed && backend.state == .closed }
        XCTAssertNil(frontend.connection)
        XCTAssertNil(backend.connection)
        XCTAssertNil(frontend.closeReason)
        XCTAssertEqual(try fixture.frontendNode("state"), "6")
        XCTAssertEqual(try fixture.backendNode("state"), "6")
    }

    func testFrontendInitiatedCloseAndReconnect() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend(), backend = try fixture.backend()
        try connect(frontend, backend)
        frontend.requestClose()
        try pump(frontend, backend) { frontend.state == .closed && backend.state == .closed }
        XCTAssertThrowsError(try backend.run(until: [.connected], timeout: .milliseconds(100)))  // nothing reconnects by itself
        try frontend.reconnect()
        XCTAssertEqual(try fixture.frontendNode("state"), "1")
        try connect(frontend, backend)
        XCTAssertEqual(frontend.connection, backend.connection)
        XCTAssertEqual(backend.connection?.geometry.pageCount, 4)
        XCTAssertThrowsError(try frontend.reconnect()) { XCTAssertEqual($0 as? XenBusError, .wrongState(.connected, expected: .closed)) }
    }

    func testRejectedTransportClosesBothEndsAndAllowsAReconnect() throws {
        let fixture = try DeviceFixture()
        let backend = try fixture.backend(offer: BackendOffer(maximumRingPages: 2))
        let frontend = try fixture.frontend()
        try backend.advance()
        // A backend changes its mind under the frontend's feet: the frontend reads 16, the backend allows 2.
        try fixture.writeBackend(["max-ring-page-order": "4", "max-ring-pages": "16"])
        try pump(frontend, backend) { frontend.state == .closed && backend.state == .closed }
        XCTAssertEqual(try fixture.backendNode("error"), "frontend \(fixture.device.frontendPath): ring-page-order = 2 is above the 1 offered")
        XCTAssertNotNil(backend.closeReason)
        try frontend.reconnect()
        try connect(frontend, backend)
        XCTAssertEqual(backend.connection?.geometry.pageCount, 2)
        XCTAssertNil(try fixture.backendNode("error"))
    }

    func testVanishedPeerEndsInClosed() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend(), backend = try fixture.backend()
        try connect(frontend, backend)
        frontend.beginUse()  // even a frontend in use cannot keep a backend that is gone
        try Toolstack.removeDevice(fixture.device, from: fixture.store)
        try pump(frontend, backend) { frontend.state == .closed && backend.state == .closed }
        XCTAssertEqual(frontend.closeReason, "backend vanished")
        XCTAssertEqual(backend.closeReason, "frontend vanished")
        XCTAssertNil(try fixture.frontendNode("state"))  // a removed device is not recreated
        XCTAssertNil(try fixture.backendNode("state"))
    }

    func testGarbageStateEndsInClosed() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend(), backend = try fixture.backend()
        try connect(frontend, backend)
        try fixture.writeFrontend(["state": "banana"])
        try pump(nil, backend) { backend.state == .closed }
        XCTAssertEqual(backend.closeReason, "frontend garbage state \"banana\"")
        XCTAssertEqual(try fixture.backendNode("state"), "6")
    }

    func testEveryWaitHasATimeout() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend()
        let started = ContinuousClock.now
        XCTAssertThrowsError(try frontend.run(until: [.connected], timeout: .milliseconds(200))) {
            XCTAssertEqual($0 as? XenBusError, .timedOut(waitingFor: [.connected], own: .initialising, peer: .state(.initialising), after: .milliseconds(200)))
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
    }

    func testBlockingDriversOnTwoThreadsConnect() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend(limits: FrontendLimits(ringPages: 8, queues: 2)), backend = try fixture.backend(offer: BackendOffer(maximumQueues: 2))
        let backendDone = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let backendOnItsThread = backend  // used only by that thread until it signals
        nonisolated(unsafe) var backendState: Result<XenbusState, XenBusError>?
        Thread.detachNewThread {
            backendState = Result { () throws(XenBusError) in try backendOnItsThread.run(until: [.connected], timeout: .seconds(5)) }
            backendDone.signal()
        }
        XCTAssertEqual(try frontend.run(until: [.connected], timeout: .seconds(5)), .connected)
        XCTAssertEqual(backendDone.wait(timeout: .now() + 6), .success)
        XCTAssertEqual(try backendState?.get(), .connected)
        XCTAssertEqual(backend.connection?.queues.count, 2)
        XCTAssertEqual(try fixture.frontendNode("queue-1/ring-ref0"), "200")
        XCTAssertEqual(try fixture.frontendNode("multi-queue-num-queues"), "2")
        XCTAssertNil(try fixture.frontendNode("ring-ref0"))
        XCTAssertEqual(frontend.connection, backend.connection)
    }
}

final class ToolstackTests: XCTestCase {
    func testDeviceLayoutAndPermissions() throws {
        let fixture = try DeviceFixture()
        let front = fixture.device.frontendPath, back = fixture.device.backendPath
        XCTAssertEqual(front.rawValue, "/local/domain/5/device/vbd/51712")
        XCTAssertEqual(back.rawValue, "/local/domain/0/backend/vbd/5/51712")
        XCTAssertEqual(try fixture.frontendNode("backend"), back.rawValue)
        XCTAssertEqual(try fixture.backendNode("frontend-id"), "5")
        XCTAssertEqual(try fixture.backendNode("mode"), "w")
        XCTAssertEqual(try fixture.frontendNode("virtual-device"), "51712")
        XCTAssertEqual(try fixture.frontendNode("state"), "1")
        XCTAssertEqual(try fixture.backendNode("state"), "1")
        let guest = fixture.frontendStore
        XCTAssertEqual(try guest.read(back.appending("params")), "/images/disk.img")  // may read the backend's
        XCTAssertThrowsError(try guest.write(back.appending("params"), "/etc/shadow")) {
            XCTAssertEqual(($0 as? XenStoreError)?.code, .EACCES)
        }
        try guest.write(front.appending("event-channel"), "3")  // may write its own
        let stranger = fixture.store.session(as: DomainID(6))
        XCTAssertThrowsError(try stranger.read(front.appending("state"))) { XCTAssertEqual(($0 as? XenStoreError)?.code, .EACCES) }
        try Toolstack.removeDevice(fixture.device, from: fixture.store)
        XCTAssertNil(try fixture.frontendNode("state"))
        try Toolstack.removeDevice(fixture.device, from: fixture.store)  // removing twice is fine
    }

    func testABackendOfAnotherTypeIsFiledUnderItAndFoundThroughTheFrontendsLink() throws {
        let store = InMemoryXenStore()
        let ours = VirtualBlockDevice(frontendDomain: guestDomain, backendType: .blkif, id: DeviceID(51728))
        XCTAssertEqual(ours.backendPath.rawValue, "/local/domain/0/backend/blkif/5/51728")
        XCTAssertEqual(try VirtualBlockDevice.located(frontendDomain: guestDomain, id: DeviceID(51728), in: store), nil)
        try Toolstack.createDevice(ours, configuration: DeviceConfiguration(params: "/images/b.img", dev: "xvdb", virtualDevice: 51728), in: store)
        // A frontend knowing only its own domain and device number finds the backend's type and domain.
        XCTAssertEqual(try VirtualBlockDevice.located(frontendDomain: guestDomain, id: DeviceID(51728), in: store), ours)
        XCTAssertNil(try store.readIfPresent("/local/domain/0/backend/vbd/5/51728/state"), "a kernel blkback's directory stays empty")
        for (value, valid) in [("/local/domain/7/backend/qdisk/5/51728", true), ("/local/domain/0/backend/vbd/6/51728", false),
                               ("/local/domain/0/backend/vbd/5/51712", false), ("/local/domain/0/backend/a b/5/51728", false),
                               ("/local/domain/x/backend/vbd/5/51728", false), ("backend/vbd/5/51728", false), ("", false)] {
            try store.write(ours.frontendPath.appending("backend"), value)
            do {
                let found = try VirtualBlockDevice.located(frontendDomain: guestDomain, id: DeviceID(51728), in: store)
                XCTAssertTrue(valid, "\(value) was accepted")
                XCTAssertEqual(found?.backendPath.rawValue, value)
            } catch {
                XCTAssertFalse(valid, "\(value): \(error)")
                XCTAssertEqual(error, .badBackendLink(ours.frontendPath.rawValue + "/backend", value: value))
            }
        }
        XCTAssertNil(BackendType(rawValue: "vbd/1"))
        XCTAssertNil(BackendType(rawValue: ""))
        XCTAssertEqual(BackendType(rawValue: "vbd3")?.rawValue, "vbd3")
    }
}

/// What a Linux blkback does that the seed's backends did not: its `feature-*` nodes appear only
/// as it connects (found on a real Xen), and a frontend of `blkif.h`'s deprecated scheme names its
/// page count `num-ring-pages`.
final class LinuxBackendInteropTests: XCTestCase {
    /// A backend whose offer at InitWait has ring nodes only, and whose features (flush, barrier,
    /// discard, persistent grants, 32 indirect segments) come with Connected: the frontend ends
    /// with those features, persistent grants on, and the backend's 32 indirect segments (under
    /// its own 64), which it sizes its slots for then.
    func testFeaturesWrittenAtConnectedAreReadThen() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend(limits: FrontendLimits(ringPages: 4, maximumIndirectSegments: 64, persistentGrants: true))
        try fixture.writeBackend(["max-ring-page-order": "2", "state": "2"])
        try pump(frontend, nil) { frontend.state == .initialised }
        XCTAssertEqual(try fixture.frontendNode("feature-persistent"), "1", "the frontend asks before it knows")
        XCTAssertEqual(frontend.connection?.requestLimits.maximumIndirectSegments, 0, "none offered at InitWait")
        try fixture.writeBackend([
            "feature-flush-cache": "1", "feature-barrier": "1", "feature-discard": "1", "discard-granularity": "4096",
            "feature-persistent": "1", "feature-max-indirect-segments": "32",
            "sectors": "2048", "sector-size": "512", "state": "4",
        ])
        try pump(frontend, nil) { frontend.state == .connected }
        let features = try XCTUnwrap(frontend.offer?.features)
        XCTAssertTrue(features.flushCache)
        XCTAssertTrue(features.barrier)
        XCTAssertEqual(features.discard?.granularity, 4096)
        XCTAssertEqual(frontend.connection?.persistentGrants, true)
        XCTAssertEqual(frontend.connection?.requestLimits.maximumIndirectSegments, 32, "the backend's word at Connected")
        XCTAssertEqual(frontend.disk?.sectors, Sector(2048))
    }

    /// The word at Connected counts, lower or higher than the offer at InitWait, and never above
    /// the frontend's own limit.
    func testIndirectSegmentsSettleAtConnected() throws {
        for (offered, announced, limit, settled) in [(64, "16", 64, 16), (64, "0", 64, 0), (0, "512", 256, 256), (32, nil, 64, 0)] as [(Int, String?, Int, Int)] {
            let fixture = try DeviceFixture()
            let frontend = try fixture.frontend(limits: FrontendLimits(ringPages: 1, maximumIndirectSegments: limit))
            try fixture.writeBackend(["feature-max-indirect-segments": String(offered), "state": "2"])
            try pump(frontend, nil) { frontend.state == .initialised }
            XCTAssertEqual(frontend.connection?.requestLimits.maximumIndirectSegments, min(offered, limit))
            if announced == nil { try fixture.removeBackend("feature-max-indirect-segments") }
            try fixture.writeBackend(["sectors": "64", "sector-size": "512", "state": "4"].merging(
                announced.map { ["feature-max-indirect-segments": $0] } ?? [:]) { $1 })
            try pump(frontend, nil) { frontend.state == .connected }
            XCTAssertEqual(frontend.connection?.requestLimits.maximumIndirectSegments, settled, "offered \(offered), then \(announced ?? "none")")
        }
    }

    /// A backend that never says `feature-persistent` leaves persistent grants off, whatever the
    /// frontend asked.
    func testPersistentGrantsNeedTheBackendsWordAtConnected() throws {
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend(limits: FrontendLimits(ringPages: 1, persistentGrants: true))
        try fixture.writeBackend(["state": "2"])
        try pump(frontend, nil) { frontend.state == .initialised }
        try fixture.writeBackend(["sectors": "64", "sector-size": "512", "state": "4"])
        try pump(frontend, nil) { frontend.state == .connected }
        XCTAssertEqual(frontend.connection?.persistentGrants, false)
    }

    /// `num-ring-pages` alone sizes the ring as `ring-pages` does; both present must agree; our
    /// frontend writes both.
    func testNumRingPagesIsReadAndWritten() throws {
        let offer = BackendOffer(maximumRingPages: 8)
        let base: [String: String] = ["ring-ref0": "1", "ring-ref1": "2", "ring-ref2": "3", "ring-ref3": "4", "event-channel": "5"]
        let accepted = try NegotiatedConnection.accept(NodeValues(base.merging(["num-ring-pages": "4"]) { $1 }), offer: offer, schemes: .both)
        XCTAssertEqual(accepted.geometry.pageCount, 4)
        XCTAssertThrowsError(try NegotiatedConnection.accept(
            NodeValues(base.merging(["num-ring-pages": "4", "ring-pages": "2"]) { $1 }), offer: offer, schemes: .both)) { error in
            XCTAssertEqual(error as? NegotiationError, .malformed(node: "num-ring-pages", value: "4", expected: "equal to ring-pages = 2"))
        }
        let fixture = try DeviceFixture()
        let frontend = try fixture.frontend(limits: FrontendLimits(ringPages: 2))
        try fixture.writeBackend(offer.nodes(schemes: .both).merging(["state": "2"]) { $1 })
        try pump(frontend, nil) { frontend.state == .initialised }
        XCTAssertEqual(try fixture.frontendNode("ring-pages"), "2")
        XCTAssertEqual(try fixture.frontendNode("num-ring-pages"), "2")
    }
}
