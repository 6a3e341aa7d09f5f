import BlkifABI
import BlkifRing
import XCTest

/// `BackRing.serveRequests(with:limit:)`: a batch served, answered and published by the ring.
final class ServeRequestsTests: XCTestCase {
    /// Serves requests of 1 to 64 segments (one-segment short copies and segment blocks) in both
    /// ABIs across the 2^32 wrap, mixed with `takeRequest()`: every request decodes to exactly
    /// what was written, every response echoes its id and operation in order.
    func testServedBatchesDecodeEveryRequestAndAnswerInOrderInBothABIs() throws {
        for abi in [ABI.x86_64, .x86_32] {
            for pages in [1, 16] {
                try serveRoundTrip(abi: abi, pages: pages, requests: 4_000)
            }
        }
    }

    /// A limit serves that many requests and publishes exactly their responses; the rest wait,
    /// unread, for the next call, which serves them in order.
    func testALimitServesAndPublishesThatManyAndLeavesTheRestForTheNextCall() throws {
        for abi in [ABI.x86_64, .x86_32] {
            let ring = try TestRing(abi: abi, pages: 1)
            for id in 0..<5 { XCTAssertTrue(ring.write(id: id, segments: Checker.segments(id))) }  // 1, 1, 11, 64, 12
            _ = ring.front.pushRequests()
            var checker = Checker()
            let first = try ring.back.serveRequests(with: &checker, limit: 3)
            XCTAssertEqual(first.count, 3, "\(abi)")
            XCTAssertEqual(first.notify, .notifyPeer, "\(abi): rsp_event starts at 1")
            XCTAssertEqual(ring.back.requestConsumer, RingIndex(3), "\(abi): the 64-segment request is not touched")
            XCTAssertEqual(ring.shared.responseProducer.pointee.load(ordering: .acquiring), RingIndex(3), "\(abi)")
            XCTAssertEqual(try ring.back.serveRequests(with: &checker, limit: 1).count, 1, "\(abi)")
            let entries64 = abi.entriesForSegments(64)
            XCTAssertEqual(ring.back.requestConsumer, RingIndex(UInt32(3 + entries64)), "\(abi)")
            XCTAssertEqual(try ring.back.serveRequests(with: &checker, limit: 8).count, 1, "\(abi): only one is left")
            XCTAssertEqual(try ring.back.serveRequests(with: &checker, limit: 8).count, 0, "\(abi)")
            XCTAssertEqual(checker.served, 5, "\(abi)")
            XCTAssertEqual(checker.mismatches, 0, "\(abi)")
            for id in 0..<5 {
                XCTAssertEqual(try ring.front.takeResponse(entries: { _ in abi.entriesForSegments(Checker.segments(id)) })?.id, RequestID(UInt64(id)), "\(abi)")
            }
        }
    }

    /// With requests taken and not yet answered (`rsp_prod_pvt` behind `req_cons`), a batch
    /// writes its responses from `rsp_prod_pvt` on, not in its requests' slots, and the answers
    /// still owed follow them.
    func testABatchAfterUnansweredRequestsWritesItsResponsesFromTheResponseProducer() throws {
        for abi in [ABI.x86_64, .x86_32] {
            let ring = try TestRing(abi: abi, pages: 1, start: RingIndex(UInt32.max - 5))
            for id in 0..<7 { XCTAssertTrue(ring.write(id: id, segments: Checker.segments(id))) }  // 1, 1, 11, 64, 12, 1, 30
            _ = ring.front.pushRequests()
            var checker = Checker()
            var owed: [Response] = []
            var owedEntries: [Int] = []
            for _ in 0..<4 {
                let copy = try XCTUnwrap(try ring.back.takeRequest(), "\(abi)")
                checker.check(copy)
                owed.append(Response(id: copy.header.id, operation: copy.header.operation, status: .okay))
                owedEntries.append(copy.entryCount)
            }
            XCTAssertEqual(try ring.back.serveRequests(with: &checker).count, 3, "\(abi)")
            let entries = (0..<7).map { abi.entriesForSegments(Checker.segments($0)) }
            XCTAssertEqual(ring.back.responseProducer, RingIndex(UInt32.max - 5).advanced(by: UInt32(entries[4...].reduce(0, +))), "\(abi)")
            for (response, count) in zip(owed, owedEntries) { ring.back.writeResponse(response, entries: count) }
            _ = ring.back.pushResponses()
            var answered: [Int] = []
            while let response = try ring.front.takeResponse(entries: { entries[Int($0.id.rawValue)] }) {
                let id = Int(response.id.rawValue)
                XCTAssertEqual(response, Response(id: RequestID(UInt64(id)), operation: Checker.operation(id), status: .okay), "\(abi)")
                answered.append(id)
            }
            XCTAssertEqual(answered, [4, 5, 6, 0, 1, 2, 3], "\(abi)")
            XCTAssertEqual(checker.mismatches, 0, "\(abi)")
            XCTAssertEqual(ring.front.freeRequests, ring.geometry.entryCount, "\(abi)")
        }
    }

    func testNothingPublishedServesNothingAndLeavesTheHeaderAlone() throws {
        let ring = try TestRing(abi: .x86_32, pages: 1)
        let header = Array(UnsafeRawBufferPointer(start: ring.memory, count: RingGeometry.headerSize))
        var checker = Checker()
        let served = try ring.back.serveRequests(with: &checker)
        XCTAssertEqual(served.count, 0)
        XCTAssertEqual(served.notify, .noNotification)
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: ring.memory, count: RingGeometry.headerSize)), header)
    }

    func testHostileRequestProducerIsATypedError() throws {
        let ring = try TestRing(abi: .x86_64, pages: 1)
        ring.shared.requestProducer.pointee.store(RingIndex(UInt32(ring.geometry.entryCount) + 1), ordering: .releasing)
        var checker = Checker()
        XCTAssertThrowsError(try ring.back.serveRequests(with: &checker)) { error in
            guard case .requestProducerOverflow = error as? RingError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(checker.served, 0)
    }

    /// A request whose segment blocks are not all published fails the batch, after the
    /// responses to the requests before it are published: none is lost.
    func testRequestRunningPastTheProducerFailsAfterPublishingEarlierResponses() throws {
        let ring = try TestRing(abi: .x86_32, pages: 1)
        for id in 0..<2 { ring.write(id: id, segments: 1) }
        ring.write(id: 2, segments: 40)  // 4 entries on x86_32
        // Publish only the first two requests and the header entry of the third.
        ring.shared.requestProducer.pointee.store(RingIndex(3), ordering: .releasing)
        var checker = Checker()
        XCTAssertThrowsError(try ring.back.serveRequests(with: &checker)) { error in
            XCTAssertEqual(error as? RingError, .requestPastProducer(at: RingIndex(2), entries: 4, published: 1))
        }
        XCTAssertEqual(checker.served, 2)
        XCTAssertEqual(ring.shared.responseProducer.pointee.load(ordering: .acquiring), RingIndex(2))
        XCTAssertEqual(try ring.front.takeResponse(entries: { _ in 1 })?.id, RequestID(0))
        XCTAssertEqual(try ring.front.takeResponse(entries: { _ in 1 })?.id, RequestID(1))
    }

    func testPublishingTellsWhetherTheFrontendAskedForAnEvent() throws {
        let ring = try TestRing(abi: .x86_64, pages: 1)
        ring.write(id: 0, segments: 1)
        _ = ring.front.pushRequests()
        var checker = Checker()
        XCTAssertEqual(try ring.back.serveRequests(with: &checker).notify, .notifyPeer, "rsp_event starts at 1")
        ring.write(id: 1, segments: 1)
        _ = ring.front.pushRequests()
        XCTAssertEqual(try ring.back.serveRequests(with: &checker).notify, .noNotification, "rsp_event was not re-armed")
    }

    private func serveRoundTrip(abi: ABI, pages: Int, requests: Int) throws {
        let ring = try TestRing(abi: abi, pages: pages, start: RingIndex(UInt32.max - 50))
        var checker = Checker()
        var sent = 0, answered = 0
        while answered < requests {
            while sent < requests, ring.write(id: sent, segments: Checker.segments(sent)) { sent += 1 }
            _ = ring.front.pushRequests()
            if answered % 3 == 0, let copy = try ring.back.takeRequest() {  // the two ways mix
                checker.check(copy)
                ring.back.writeResponse(Response(id: copy.header.id, operation: copy.header.operation, status: .okay), entries: copy.entryCount)
            }
            _ = try ring.back.serveRequests(with: &checker, limit: sent % 2 == 0 ? .max : 1 + sent % 5)
            _ = ring.back.pushResponses()
            while let response = try ring.front.takeResponse(entries: { abi.entriesForSegments(Checker.segments(Int($0.id.rawValue))) }) {
                XCTAssertEqual(response, Response(id: RequestID(UInt64(answered)), operation: Checker.operation(answered), status: .okay))
                answered += 1
            }
        }
        XCTAssertEqual(checker.mismatches, 0, "\(abi) \(pages)p")
        XCTAssertEqual(ring.front.freeRequests, ring.geometry.entryCount)
    }
}

/// Checks each request is the next one written by ``TestRing/write(id:segments:)`` (shared by the
/// batch tests of both ends).
struct Checker: RequestResponder {
    var served = 0
    var next = 0
    var mismatches = 0

    static func segments(_ id: Int) -> Int { [1, 1, 11, 64, 12, 1, 30][id % 7] }
    static func operation(_ id: Int) -> BlkifABI.Operation { id % 2 == 0 ? .read : .write }

    mutating func check(_ copy: RequestCopy) {
        defer { next += 1 }
        guard let request = try? copy.decode(), request.id == RequestID(UInt64(next)), request.operation == Self.operation(next) else {
            mismatches += 1
            return
        }
        let transfer: Transfer
        switch request {
        case .read(let decoded), .write(let decoded): transfer = decoded
        default:
            mismatches += 1
            return
        }
        let expected = (0..<Self.segments(next)).map { Segment(grant: GrantRef(UInt32(next * 100 + $0)), firstSector: UInt8($0 % 8), lastSector: 7) }
        if Array(transfer.segments) != expected || transfer.sector != Sector(UInt64(next) * 8) || copy.entryCount != copy.abi.entriesForSegments(expected.count) {
            mismatches += 1
        }
    }

    mutating func respond(to request: RequestCopy) -> Status {
        check(request)
        served += 1
        return .okay
    }
}

/// A ring in page-aligned memory with both ends attached.
final class TestRing {
    let geometry: RingGeometry
    let memory: UnsafeMutableRawPointer
    var front: FrontRing
    var back: BackRing
    var shared: SharedRing { front.shared }

    init(abi: ABI, pages: Int, start: RingIndex = RingIndex(0), limits: RequestLimits = RequestLimits(maximumSegments: 255)) throws {
        geometry = try RingGeometry(pageCount: pages, abi: abi)
        memory = .allocate(byteCount: geometry.byteCount, alignment: RingGeometry.pageSize)
        front = FrontRing(initializing: memory, geometry: geometry, startingAt: start)
        back = try BackRing(attachingTo: memory, geometry: geometry, limits: limits)
    }

    deinit { memory.deallocate() }

    /// Writes request `id` (not published); false when the ring is full.
    @discardableResult
    func write(id: Int, segments: Int) -> Bool {
        guard let run = front.reserveRequest(entries: geometry.abi.entriesForSegments(segments)) else { return false }
        run.writeRequest(
            operation: Checker.operation(id), handle: DeviceHandle(1), id: RequestID(UInt64(id)), sector: Sector(UInt64(id) * 8),
            segments: (0..<segments).map { Segment(grant: GrantRef(UInt32(id * 100 + $0)), firstSector: UInt8($0 % 8), lastSector: 7) })
        return true
    }
}
