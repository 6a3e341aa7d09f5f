import BlkifABI
import BlkifRing
import XCTest

/// `FrontRing.takeResponses(with:)`: a whole batch of responses taken by the ring.
final class TakeResponsesTests: XCTestCase {
    /// Requests of 1 to 64 segments in both ABIs, 1 and 16 pages, across the 2^32 wrap, answered
    /// by `serveRequests(with:)` and taken in batches mixed with `takeResponse(entries:)`: every
    /// response arrives once, in order, and the ring ends empty.
    func testBatchesTakeEveryResponseInOrderInBothABIs() throws {
        for abi in [ABI.x86_64, .x86_32] {
            for pages in [1, 16] {
                let ring = try TestRing(abi: abi, pages: pages, start: RingIndex(UInt32.max - 50))
                var server = Checker()
                var handler = InOrder(abi: abi)
                var sent = 0, batches = 0
                while handler.next < 3_000 {
                    while sent < 3_000, ring.write(id: sent, segments: Checker.segments(sent)) { sent += 1 }
                    _ = ring.front.pushRequests()
                    _ = try ring.back.serveRequests(with: &server)
                    batches += 1
                    if batches % 3 == 0, let response = try ring.front.takeResponse(entries: { handler.entries(answeredBy: $0) }) {
                        XCTAssertTrue(handler.handle(response))  // the two ways mix
                    }
                    let before = handler.next
                    XCTAssertEqual(try ring.front.takeResponses(with: &handler), handler.next - before)
                    XCTAssertEqual(try ring.front.pendingResponses(), 0, "a batch takes everything published")
                }
                XCTAssertEqual(handler.mismatches, 0, "\(abi) \(pages)p")
                XCTAssertEqual(server.mismatches, 0, "\(abi) \(pages)p")
                XCTAssertEqual(ring.front.freeRequests, ring.geometry.entryCount, "\(abi) \(pages)p")
            }
        }
    }

    func testNothingPublishedTakesNothing() throws {
        let ring = try TestRing(abi: .x86_64, pages: 1)
        var handler = InOrder(abi: .x86_64)
        XCTAssertEqual(try ring.front.takeResponses(with: &handler), 0)
        XCTAssertEqual(handler.next, 0)
    }

    /// A handler that says stop ends the batch at that response (taken); the rest wait for the
    /// next call.
    func testHandlerStopsTheBatchAndTheRestWait() throws {
        let ring = try TestRing(abi: .x86_32, pages: 1)
        for id in 0..<5 { ring.write(id: id, segments: 1) }
        _ = ring.front.pushRequests()
        var server = Checker()
        _ = try ring.back.serveRequests(with: &server)
        var handler = InOrder(abi: .x86_32, segments: { _ in 1 }, stopAfter: 2)
        XCTAssertEqual(try ring.front.takeResponses(with: &handler), 2)
        XCTAssertEqual(try ring.front.pendingResponses(), 3)
        handler.stopAfter = nil
        XCTAssertEqual(try ring.front.takeResponses(with: &handler), 3)
        XCTAssertEqual(handler.next, 5)
        XCTAssertEqual(handler.mismatches, 0)
    }

    /// A backend claiming more responses than requests were issued is refused before anything is
    /// taken.
    func testHostileResponseProducerIsATypedErrorAndTakesNothing() throws {
        let ring = try TestRing(abi: .x86_64, pages: 1)
        ring.write(id: 0, segments: 1)
        _ = ring.front.pushRequests()
        ring.shared.responseProducer.pointee.store(RingIndex(7), ordering: .releasing)
        var handler = InOrder(abi: .x86_64)
        XCTAssertThrowsError(try ring.front.takeResponses(with: &handler)) { error in
            XCTAssertEqual(error as? RingError, .responseProducerOverflow(producer: RingIndex(7), consumed: RingIndex(0), requested: RingIndex(1)))
        }
        XCTAssertEqual(handler.next, 0)
        XCTAssertEqual(ring.front.responseConsumer, RingIndex(0))
    }

    /// A response whose request spanned more entries than are published fails the batch; the
    /// responses before it stay taken and it stays unconsumed.
    func testResponseRunningPastTheProducerFailsAfterTakingEarlierOnes() throws {
        let ring = try TestRing(abi: .x86_64, pages: 1)
        for id in 0..<2 { ring.write(id: id, segments: 1) }
        ring.write(id: 2, segments: 40)  // 4 entries on x86_64
        _ = ring.front.pushRequests()
        var server = Checker()
        _ = try ring.back.serveRequests(with: &server)
        // The backend publishes only the header entry of the third response.
        ring.shared.responseProducer.pointee.store(RingIndex(3), ordering: .releasing)
        var handler = InOrder(abi: .x86_64, segments: { $0 == 2 ? 40 : 1 })
        XCTAssertThrowsError(try ring.front.takeResponses(with: &handler)) { error in
            XCTAssertEqual(error as? RingError, .responsePastProducer(at: RingIndex(2), entries: 4, published: 1))
        }
        XCTAssertEqual(handler.next, 2)
        XCTAssertEqual(ring.front.responseConsumer, RingIndex(2))
    }

    /// A handler asking for no entry at all is refused, not looped on.
    func testZeroEntriesIsATypedError() throws {
        let ring = try TestRing(abi: .x86_64, pages: 1)
        ring.write(id: 0, segments: 1)
        _ = ring.front.pushRequests()
        var server = Checker()
        _ = try ring.back.serveRequests(with: &server)
        var handler = InOrder(abi: .x86_64, entriesOverride: 0)
        XCTAssertThrowsError(try ring.front.takeResponses(with: &handler)) { error in
            XCTAssertEqual(error as? RingError, .responsePastProducer(at: RingIndex(0), entries: 0, published: 1))
        }
        XCTAssertEqual(handler.next, 0)
    }
}

/// The `Completions` handler of docs/ring.md, run for real: the frontend's table of requests in flight
/// says how many entries each response spans, and an id it never issued is refused.
final class ReadmeCompletionsTests: XCTestCase {
    struct Completions: ResponseHandler {
        var inFlight: [RequestID: Int]  // entries of each request issued
        @inline(__always) func entries(answeredBy response: Response) -> Int { inFlight[response.id] ?? 0 }
        @inline(__always) mutating func handle(_ response: Response) -> Bool {
            inFlight[response.id] = nil  // complete the I/O here
            return true
        }
    }

    func testCompletionsTableDrivesTheBatch() throws {
        let ring = try TestRing(abi: .x86_32, pages: 1)
        var issued: [RequestID: Int] = [:]
        for (id, segments) in [(0, 1), (1, 64), (2, 11)] {
            ring.write(id: id, segments: segments)
            issued[RequestID(UInt64(id))] = ring.geometry.abi.entriesForSegments(segments)
        }
        _ = ring.front.pushRequests()
        var server = Checker()
        _ = try ring.back.serveRequests(with: &server)
        _ = ring.back.pushResponses()
        var completions = Completions(inFlight: issued)
        let taken = try ring.front.takeResponses(with: &completions)
        XCTAssertEqual(taken, 3)
        XCTAssertTrue(completions.inFlight.isEmpty)
        XCTAssertEqual(ring.front.freeRequests, ring.geometry.entryCount)

        // A response to an id never issued spans no known entries: refused, not consumed.
        ring.write(id: 3, segments: 1)
        _ = ring.front.pushRequests()
        _ = try ring.back.serveRequests(with: &server)
        XCTAssertThrowsError(try ring.front.takeResponses(with: &completions)) { error in
            guard case .responsePastProducer(_, entries: 0, _) = error as? RingError else { return XCTFail("\(error)") }
        }
    }
}

/// Expects the responses to ``TestRing/write(id:segments:)``'s requests, in order, answered OKAY.
private struct InOrder: ResponseHandler {
    let abi: ABI
    var next = 0
    var mismatches = 0
    /// Segments of request `id`, as written.
    let segments: (Int) -> Int
    var stopAfter: Int?
    var entriesOverride: Int?

    init(abi: ABI, segments: @escaping (Int) -> Int = Checker.segments, stopAfter: Int? = nil, entriesOverride: Int? = nil) {
        self.abi = abi
        self.segments = segments
        self.stopAfter = stopAfter
        self.entriesOverride = entriesOverride
    }

    func entries(answeredBy response: Response) -> Int {
        entriesOverride ?? abi.entriesForSegments(segments(next))
    }

    mutating func handle(_ response: Response) -> Bool {
        if response != Response(id: RequestID(UInt64(next)), operation: Checker.operation(next), status: .okay) { mismatches += 1 }
        next += 1
        if let stopAfter, next >= stopAfter { return false }
        return true
    }
}
