// Our frontend's consumption of responses a hostile backend writes.

import BlkifABI
import BlkifRing

/// `FrontRing` against a backend that writes any bytes into any slot and any values into
/// `rsp_prod` and `req_event` between our calls. The input picks the ring's shape and a script:
/// our requests (1 to 40 segments, so some span segment blocks) and pushes, the peer's writes,
/// and every way a frontend consumes responses (``FrontRing/takeResponse(entries:)``,
/// ``FrontRing/takeResponses(with:)``, final checks). A response's entries are those of the
/// request its id names, or, for an id we never issued, whatever the id says (0...3: 0 and
/// past-the-producer claims must be refused).
///
/// Properties: no trap, no access outside the ring; only ``RingError``; one pass takes at most
/// a ring of responses; `0 <= freeRequests <= entryCount` throughout.
enum FrontRingProperty {
    /// Runs the property on one input.
    static func check(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let ring = FuzzRing(&input)
        var front = FrontRing(initializing: ring.base, geometry: ring.geometry, startingAt: FuzzRing.start(&input))
        var issued = IssuedRequests()
        while !input.isExhausted {
            step(&front, &issued, &input)
            require((0...front.entryCount).contains(front.freeRequests), "\(front.freeRequests) free requests")
        }
    }

    private static func step(_ front: inout FrontRing, _ issued: inout IssuedRequests, _ input: inout FuzzInput) {
        let shared = front.shared
        switch input.byte() % 9 {
        case 0: issued.issue(on: &front, segments: input.int(in: 1...40))
        case 1: _ = front.pushRequests()
        case 2, 3: shared.scribble(&input)
        case 4: shared.responseProducer.pointee.store(shared.hostileIndex(near: front.responseConsumer, &input), ordering: .releasing)
        case 5: shared.requestEvent.pointee.store(shared.hostileIndex(near: front.requestProducer, &input), ordering: .relaxed)
        case 6:
            var taken = 0
            do {
                while try front.takeResponse(entries: issued.entries(answeredBy:)) != nil {
                    taken += 1
                    require(taken <= front.entryCount, "one pass took more responses than the ring holds")
                }
            } catch {
                _ = error as RingError  // typed: only RingError can reach here
            }
        case 7:
            var handler = issued
            do {
                let taken = try front.takeResponses(with: &handler)
                require(taken <= front.entryCount, "one batch took \(taken) responses")
            } catch {
                _ = error as RingError  // typed: only RingError can reach here
            }
        default:
            _ = try? front.finalCheckForResponses()
            if let pending = try? front.pendingResponses() {
                require((0...front.entryCount).contains(pending), "\(pending) responses pending")
            }
        }
    }
}

/// The entries of each request we issued, by id; a response for any other id claims `id % 4`.
private struct IssuedRequests: ResponseHandler {
    /// Entries of the request with id `n`, for the ids issued so far (ids count up from 0).
    var entriesByID: [Int] = []

    /// Writes one read of `segments` segments, if the ring has room for its entries.
    mutating func issue(on front: inout FrontRing, segments: Int) {
        let abi = front.shared.geometry.abi
        guard let run = front.reserveRequest(entries: abi.entriesForSegments(segments)) else { return }
        run.writeRequest(
            operation: .read, handle: DeviceHandle(0), id: RequestID(UInt64(entriesByID.count)), sector: Sector(0),
            segments: (0..<segments).map { Segment(grant: GrantRef(UInt32($0))) })
        entriesByID.append(run.count)
    }

    func entries(answeredBy response: Response) -> Int {
        let id = response.id.rawValue
        return id < UInt64(entriesByID.count) ? entriesByID[Int(id)] : Int(id % 4)
    }

    mutating func handle(_ response: Response) -> Bool { true }
}
