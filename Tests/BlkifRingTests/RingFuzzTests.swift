// A hostile peer against our consumers: no trap, bounded work, typed errors only.

import BlkifABI
import BlkifRing
import XCTest

/// Between our calls, a hostile peer writes random bytes into slots and random values into the
/// producer index we read. Our consumer must never trap (a trap kills the test process), never
/// read outside the ring (see `make test-asan-ring`), return within a bounded number of calls,
/// and report only ``RingError`` / ``RequestError``. Seeded: failures print the seed;
/// `BLKIF_FUZZ_SEED` replays it, `BLKIF_FUZZ_SECONDS` runs longer.
final class RingFuzzTests: XCTestCase {
    /// Our BackRing against a hostile front.
    func testHostileFrontCannotTrapOrStallOurBack() throws {
        var random = SeededGenerator(seed: FuzzSettings.seed)
        var tally = (taken: 0, requestErrors: 0, ringErrors: 0)
        let deadline = ContinuousClock.now + FuzzSettings.duration
        while ContinuousClock.now < deadline {
            let memory = RingMemory(try HostilePeer.geometry(using: &random))
            let start = RingIndex(UInt32.max - UInt32.random(in: 0...300, using: &random))
            _ = FrontRing(initializing: memory.base, geometry: memory.geometry, startingAt: start)  // only the front initialises
            var back = try BackRing(attachingTo: memory.base, geometry: memory.geometry, limits: RequestLimits(maximumSegments: 255))
            var hostile = HostilePeer(ring: back.shared, random: random)
            var later = OutstandingRequests()
            for round in 0..<100 {
                hostile.scribble(slots: Int.random(in: 0...4, using: &hostile.random))
                // Near the answered requests or, while some are unanswered, near the consumed
                // ones: a req_prod between the two moved back behind req_cons.
                hostile.publishRequests(near: Bool.random(using: &hostile.random) ? back.responseProducer : back.requestConsumer)
                switch round % 3 {
                case 0: consume(&back, hostile: &hostile, tally: &tally)
                case 1: serve(&back, hostile: &hostile, tally: &tally)
                default: consumeAndAnswerLater(&back, outstanding: &later, hostile: &hostile, tally: &tally)
                }
            }
            random = hostile.random
        }
        let seed = FuzzSettings.seed
        print("fuzz back (seed \(seed)): \(tally.taken) requests copied, \(tally.requestErrors) RequestErrors, \(tally.ringErrors) RingErrors")
        XCTAssertGreaterThan(tally.taken, 0, "seed \(seed)")
        XCTAssertGreaterThan(tally.requestErrors, 0, "seed \(seed)")
        XCTAssertGreaterThan(tally.ringErrors, 0, "seed \(seed)")
    }

    /// Takes and answers requests until there are none. Bounded: entries seen before this pass
    /// (left by an earlier error) plus at most one ring of newly published ones.
    private func consume(_ back: inout BackRing, hostile: inout HostilePeer, tally: inout (taken: Int, requestErrors: Int, ringErrors: Int)) {
        var calls = 0
        do {
            while let copy = try back.takeRequest() {
                calls += 1
                guard calls <= 2 * back.entryCount else {
                    return XCTFail("more requests than the ring holds in one pass, seed \(FuzzSettings.seed)")
                }
                tally.taken += 1
                do { _ = try copy.decode() } catch { tally.requestErrors += 1 }
                let header = copy.header
                back.writeResponse(Response(id: header.id, operation: header.operation, status: .error), entries: copy.entryCount)
                hostile.scribble(slots: Int.random(in: 0...1, using: &hostile.random))  // between our reads
            }
        } catch {
            tally.ringErrors += 1
        }
        _ = back.pushResponses()
    }

    /// The asynchronous backend: takes requests without answering them, then answers a random
    /// number of the oldest outstanding ones (as a disk completes them), so `rsp_prod_pvt` lags
    /// `req_cons` between rounds. Bounded: one pass takes at most one ring; the outstanding
    /// entries never exceed the ring, and `pendingRequests()` is never negative.
    private func consumeAndAnswerLater(
        _ back: inout BackRing, outstanding: inout OutstandingRequests, hostile: inout HostilePeer,
        tally: inout (taken: Int, requestErrors: Int, ringErrors: Int)
    ) {
        let seed = FuzzSettings.seed
        do {
            var calls = 0
            while let copy = try back.takeRequest() {
                calls += 1
                guard calls <= back.entryCount else { return XCTFail("more requests than the ring holds in one pass, seed \(seed)") }
                tally.taken += 1
                do { _ = try copy.decode() } catch { tally.requestErrors += 1 }
                outstanding.requests.append((copy.header.id, copy.header.operation, copy.entryCount))
                hostile.scribble(slots: Int.random(in: 0...1, using: &hostile.random))
            }
            let pending = try back.pendingRequests()
            XCTAssertTrue((0...back.entryCount).contains(pending), "pendingRequests() \(pending), seed \(seed)")
        } catch {
            tally.ringErrors += 1
        }
        let unanswered = Int(back.requestConsumer.distance(from: back.responseProducer))
        XCTAssertLessThanOrEqual(unanswered, back.entryCount, "seed \(seed)")
        XCTAssertEqual(unanswered, outstanding.entries, "seed \(seed)")
        for _ in 0..<Int.random(in: 0...outstanding.requests.count, using: &hostile.random) {
            let (id, operation, entries) = outstanding.requests.removeFirst()
            back.writeResponse(Response(id: id, operation: operation, status: .okay), entries: entries)
        }
        _ = back.pushResponses()
    }

    /// Serves with the batch call, at most a random limit or everything published. Bounded:
    /// one call serves at most what one ring holds.
    private func serve(_ back: inout BackRing, hostile: inout HostilePeer, tally: inout (taken: Int, requestErrors: Int, ringErrors: Int)) {
        var responder = DecodingResponder()
        let limit = Bool.random(using: &hostile.random) ? Int.max : Int.random(in: 1...8, using: &hostile.random)
        do {
            let served = try back.serveRequests(with: &responder, limit: limit)
            XCTAssertLessThanOrEqual(served.count, min(limit, back.entryCount), "seed \(FuzzSettings.seed)")
            XCTAssertEqual(served.count, responder.served, "seed \(FuzzSettings.seed)")
        } catch {
            tally.ringErrors += 1
        }
        tally.taken += responder.served
        tally.requestErrors += responder.errors
    }

    /// Our FrontRing against a hostile back.
    func testHostileBackCannotTrapOrStallOurFront() throws {
        var random = SeededGenerator(seed: FuzzSettings.seed ^ 0xF00D)
        var tally = (taken: 0, ringErrors: 0)
        let deadline = ContinuousClock.now + FuzzSettings.duration
        while ContinuousClock.now < deadline {
            let memory = RingMemory(try HostilePeer.geometry(using: &random))
            let start = RingIndex(UInt32.max - UInt32.random(in: 0...300, using: &random))
            var front = FrontRing(initializing: memory.base, geometry: memory.geometry, startingAt: start)
            var hostile = HostilePeer(ring: front.shared, random: random)
            for _ in 0..<100 {
                produce(&front, count: Int.random(in: 0...8, using: &hostile.random))
                hostile.scribble(slots: Int.random(in: 0...4, using: &hostile.random))
                hostile.publishResponses(near: front.responseConsumer)
                var calls = 0
                do {
                    if Bool.random(using: &hostile.random) {
                        // a hostile id claims 0...3 entries for its response
                        while try front.takeResponse(entries: { Int($0.id.rawValue % 4) }) != nil {
                            calls += 1
                            tally.taken += 1
                            guard calls <= front.entryCount else { return XCTFail("unbounded responses, seed \(FuzzSettings.seed)") }
                        }
                    } else {
                        var handler = ClaimingHandler()
                        defer { tally.taken += handler.handled }
                        let taken = try front.takeResponses(with: &handler)
                        XCTAssertLessThanOrEqual(taken, front.entryCount, "seed \(FuzzSettings.seed)")
                    }
                } catch {
                    tally.ringErrors += 1
                }
                XCTAssertLessThanOrEqual(front.freeRequests, front.entryCount, "seed \(FuzzSettings.seed)")
            }
            random = hostile.random
        }
        print("fuzz front (seed \(FuzzSettings.seed)): \(tally.taken) responses taken, \(tally.ringErrors) RingErrors")
        XCTAssertGreaterThan(tally.taken, 0, "seed \(FuzzSettings.seed)")
        XCTAssertGreaterThan(tally.ringErrors, 0, "seed \(FuzzSettings.seed)")
    }

    /// Publishes up to `count` one-entry reads.
    private func produce(_ front: inout FrontRing, count: Int) {
        for index in 0..<count {
            guard let run = front.reserveRequest(entries: 1) else { break }
            run.writeRequest(operation: .read, handle: DeviceHandle(1), id: RequestID(UInt64(index)), sector: Sector(0),
                             segments: CollectionOfOne(Segment(grant: GrantRef(1))))
        }
        _ = front.pushRequests()
    }
}

/// The requests an asynchronous backend took and has not answered yet, oldest first.
private struct OutstandingRequests {
    var requests: [(id: RequestID, operation: BlkifABI.Operation, entries: Int)] = []

    /// Ring entries they occupy.
    var entries: Int { requests.reduce(0) { $0 + $1.entries } }
}

/// Answers every request it is handed after decoding it, counting the ones that fail.
private struct DecodingResponder: RequestResponder {
    var served = 0
    var errors = 0

    mutating func respond(to request: RequestCopy) -> Status {
        served += 1
        do {
            _ = try request.decode()
            return .okay
        } catch {
            errors += 1
            return error.status
        }
    }
}

/// Takes every response, believing a hostile id's claim of 0...3 entries for it.
private struct ClaimingHandler: ResponseHandler {
    var handled = 0

    func entries(answeredBy response: Response) -> Int { Int(response.id.rawValue % 4) }

    mutating func handle(_ response: Response) -> Bool {
        handled += 1
        return true
    }
}
