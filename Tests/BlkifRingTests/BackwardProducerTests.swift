import BlkifABI
import BlkifRing
import XCTest

/// A `req_prod` moved back behind `req_cons` while requests are outstanding (the normal state of
/// a backend that answers later: `rsp_prod_pvt` behind `req_cons`) is a ``RingError`` in every
/// consuming path, never requests read from far past the ring or a negative count.
final class BackwardProducerTests: XCTestCase {
    /// A backend that took 20 requests and answered 4: a frontend then moves `req_prod` to each
    /// index between the answered and the consumed ones (and a little behind the answered).
    func testEveryConsumingCallRefusesAProducerBehindTheConsumer() throws {
        for abi in [ABI.x86_64, .x86_32] {
            for start in [RingIndex(0), RingIndex(UInt32.max - 9)] {
                for backward in 1...18 {
                    for call in Call.allCases {
                        let ring = try outstandingRing(abi: abi, start: start)
                        let consumed = ring.back.requestConsumer
                        let moved = RingIndex(consumed.rawValue &- UInt32(backward))
                        ring.shared.requestProducer.pointee.store(moved, ordering: .releasing)
                        XCTAssertThrowsError(try call.run(on: ring), "\(abi) start \(start) back \(backward) \(call)") { error in
                            XCTAssertEqual(
                                error as? RingError, .requestProducerBehindConsumer(producer: moved, consumed: consumed),
                                "\(abi) \(call)")
                        }
                        XCTAssertEqual(ring.back.requestConsumer, consumed, "\(abi) \(call): nothing more is consumed")
                    }
                }
            }
        }
    }

    /// A producer at the consumer (nothing new) or ahead of it by up to the room left is still
    /// accepted; one more than a ring ahead of the answered requests overflows.
    func testProducersFromTheConsumerToTheRingsEndAreAcceptedAndBeyondOverflows() throws {
        let ring = try outstandingRing(abi: .x86_64, start: RingIndex(0))
        let consumed = ring.back.requestConsumer, answered = ring.back.responseProducer
        ring.shared.requestProducer.pointee.store(consumed, ordering: .releasing)
        XCTAssertEqual(try ring.back.pendingRequests(), 0)
        let end = answered.advanced(by: UInt32(ring.back.entryCount))
        ring.shared.requestProducer.pointee.store(end, ordering: .releasing)
        XCTAssertEqual(try ring.back.pendingRequests(), Int(end.distance(from: consumed)))
        ring.shared.requestProducer.pointee.store(end.advanced(by: 1), ordering: .releasing)
        XCTAssertThrowsError(try ring.back.pendingRequests()) { error in
            XCTAssertEqual(error as? RingError, .requestProducerOverflow(producer: end.advanced(by: 1), responsesProduced: answered, entries: 32))
        }
    }

    /// A request whose segment blocks run past `req_prod`: the backend looks once more, and a
    /// producer moved back meanwhile is refused there too.
    func testTheReReadForSegmentBlocksRefusesAProducerBehindTheConsumer() throws {
        let ring = try TestRing(abi: .x86_32, pages: 1)
        ring.write(id: 0, segments: 1)
        ring.write(id: 1, segments: 40)  // 4 entries on x86_32
        ring.shared.requestProducer.pointee.store(RingIndex(2), ordering: .releasing)  // its header only
        _ = try XCTUnwrap(try ring.back.takeRequest())
        // The hostile frontend now moves req_prod back before the backend looks again.
        ring.shared.requestProducer.pointee.store(RingIndex(0), ordering: .releasing)
        XCTAssertThrowsError(try ring.back.takeRequest()) { error in
            XCTAssertEqual(error as? RingError, .requestProducerBehindConsumer(producer: RingIndex(0), consumed: RingIndex(1)))
        }
    }

    /// The ways a backend consumes requests.
    enum Call: CaseIterable {
        case take, serve, pending, finalCheck

        func run(on ring: TestRing) throws {
            switch self {
            case .take: _ = try ring.back.takeRequest()
            case .serve:
                // Bounded even if the check were missing: then it would serve past the ring.
                var checker = Checker()
                let served = try ring.back.serveRequests(with: &checker, limit: 2 * ring.back.entryCount)
                XCTAssertLessThanOrEqual(served.count, ring.back.entryCount, "served past the ring")
            case .pending: _ = try ring.back.pendingRequests()
            case .finalCheck: _ = try ring.back.finalCheckForRequests()
            }
        }
    }

    /// 20 one-segment requests published from `start`, all taken, the first 4 answered.
    private func outstandingRing(abi: ABI, start: RingIndex) throws -> TestRing {
        let ring = try TestRing(abi: abi, pages: 1, start: start)
        for id in 0..<20 { XCTAssertTrue(ring.write(id: id, segments: 1)) }
        _ = ring.front.pushRequests()
        var taken: [RequestCopy.Header] = []
        while let copy = try ring.back.takeRequest() { taken.append(copy.header) }
        XCTAssertEqual(taken.count, 20)
        for header in taken.prefix(4) {
            ring.back.writeResponse(Response(id: header.id, operation: header.operation, status: .okay), entries: 1)
        }
        _ = ring.back.pushResponses()
        return ring
    }
}

extension RequestCopy {
    /// What a test keeps of a request it answers later.
    typealias Header = (id: RequestID, operation: BlkifABI.Operation)
}
