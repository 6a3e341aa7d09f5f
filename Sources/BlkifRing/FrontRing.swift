// The frontend's end of the ring: produces requests, consumes responses.

import BlkifABI
import Synchronization

/// The frontend's private indexes over a shared ring (ring.h's `front_ring`): it produces
/// requests and consumes responses.
///
/// Invariants: `responseConsumer <= responsesSeen <= requestProducer` (modulo 2^32) and
/// `requestProducer - responseConsumer <= entryCount`. A backend's `rsp_prod` that would break
/// them is refused with ``RingError``, never trusted.
public struct FrontRing {
    /// The shared ring.
    public let shared: SharedRing
    /// `req_prod_pvt`: requests written, published or not.
    @inlinable public var requestProducer: RingIndex { _requestProducer }
    @usableFromInline var _requestProducer: RingIndex
    /// `rsp_cons`: responses consumed.
    @inlinable public var responseConsumer: RingIndex { _responseConsumer }
    @usableFromInline var _responseConsumer: RingIndex
    /// `req_prod` as we last published it (we are its only writer; never read back).
    @usableFromInline var requestsPublished: RingIndex
    /// `rsp_prod` as last read and validated.
    @usableFromInline var responsesSeen: RingIndex

    /// `SHARED_RING_INIT` and `FRONT_RING_INIT`: initialises the ring at `base` and owns its front.
    /// `start` lets tests begin near 2^32 to exercise wrap-around.
    public init(initializing base: UnsafeMutableRawPointer, geometry: RingGeometry, startingAt start: RingIndex = RingIndex(0)) {
        shared = SharedRing(base, geometry: geometry)
        shared.initialize(startingAt: start)
        _requestProducer = start
        _responseConsumer = start
        requestsPublished = start
        responsesSeen = start
    }

    /// `FRONT_RING_ATTACH` to a ring already in use: resumes at the published indexes.
    /// - Throws: ``RingError/inconsistentIndexes(requestProducer:responseProducer:entries:)`` when
    ///   `req_prod - rsp_prod` exceeds the ring.
    public init(attachingTo base: UnsafeMutableRawPointer, geometry: RingGeometry) throws(RingError) {
        shared = SharedRing(base, geometry: geometry)
        let (requests, responses) = try shared.consistentProducers()
        _requestProducer = requests
        requestsPublished = requests
        _responseConsumer = responses
        responsesSeen = responses
    }

    /// Entries in the ring.
    @inlinable public var entryCount: Int { Int(shared.mask) + 1 }

    /// `RING_FREE_REQUESTS`: entries the front may still fill before responses free some.
    @inlinable public var freeRequests: Int { entryCount - Int(requestProducer.distance(from: responseConsumer)) }

    /// `RING_FULL`.
    @inlinable public var isFull: Bool { freeRequests == 0 }

    /// Reserves the entries a read, write, barrier or flush of `segments` segments occupies
    /// (its header and segment blocks, ``ABI/entriesForSegments(_:)`` in the ring's ABI) and
    /// returns them to be written in place with ``RingEntries/writeRequest(operation:handle:id:sector:segments:)``,
    /// or `nil` when fewer are free. The request becomes visible at ``pushRequests()``.
    /// Traps on a count outside `0...255` (`nr_segments` is a byte): the caller's bug.
    @inlinable @inline(__always)
    public mutating func reserveRequest(segments: Int) -> RingEntries? {
        precondition((0...ABI.maximumBlockSegments).contains(segments), "nr_segments is a byte: 0...255 segments")
        return reserveRequest(entries: shared.geometry.abi.entriesForSegments(segments))
    }

    /// Reserves the next `entries` entries for one request and returns them to be written in
    /// place, or `nil` when fewer are free. The request becomes visible at ``pushRequests()``.
    /// A discard or an indirect request takes 1; ``reserveRequest(segments:)`` counts the
    /// entries of a request with segments.
    @inlinable @inline(__always)
    public mutating func reserveRequest(entries: Int = 1) -> RingEntries? {
        precondition(entries >= 1, "a request occupies at least one entry")
        guard entries <= freeRequests else { return nil }
        let run = shared.entries(from: requestProducer, count: entries)
        _requestProducer = requestProducer.advanced(by: UInt32(truncatingIfNeeded: entries))
        return run
    }

    /// `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`: publishes every reserved request and says whether
    /// the backend asked to be woken.
    @inlinable
    public mutating func pushRequests() -> NotifyDecision {
        let old = requestsPublished
        requestsPublished = requestProducer
        return shared.publish(requestProducer, after: old, to: shared.requestProducer, peerEvent: shared.requestEvent)
    }

    /// Responses published and not yet consumed (`RING_HAS_UNCONSUMED_RESPONSES`), after
    /// re-reading and validating `rsp_prod`.
    /// - Throws: ``RingError/responseProducerOverflow(producer:consumed:requested:)``.
    @inlinable
    public mutating func pendingResponses() throws(RingError) -> Int {
        try refreshResponses()
        return Int(responsesSeen.distance(from: responseConsumer))
    }

    /// Reads `rsp_prod` once (acquire: response contents are visible after it) and validates it:
    /// the backend cannot answer more requests than were issued.
    @inlinable
    mutating func refreshResponses() throws(RingError) {
        let producer = shared.responseProducer.pointee.load(ordering: .acquiring)
        guard producer.distance(from: responseConsumer) <= requestProducer.distance(from: responseConsumer) else {
            throw .responseProducerOverflow(producer: producer, consumed: responseConsumer, requested: requestProducer)
        }
        responsesSeen = producer
    }

    /// Copies out the next response, if one is published, and consumes the entries it occupies:
    /// `entries(response)`, the entries its request occupied (more than 1 for a request with
    /// segment blocks; the front knows from `id`). Required, never assumed: a frontend that
    /// issues multi-entry requests and consumed one entry per response would take segment
    /// data for responses.
    /// - Throws: ``RingError`` if `rsp_prod` is invalid or the response claims unpublished entries.
    @inlinable @inline(__always)
    public mutating func takeResponse(entries: (Response) -> Int) throws(RingError) -> Response? {
        if responsesSeen == responseConsumer {
            try refreshResponses()
            if responsesSeen == responseConsumer { return nil }
        }
        let response = shared.entries(from: responseConsumer, count: 1).response.copy()
        _responseConsumer = try Self.consuming(entries(response), at: responseConsumer, published: responsesSeen)
        return response
    }

    /// The consumer index past a response at `consumer` whose request occupied `count` entries,
    /// when all of them lie before `published`.
    /// - Throws: ``RingError/responsePastProducer(at:entries:published:)`` for fewer than 1
    ///   entry, or more than are published.
    @inlinable @inline(__always)
    static func consuming(_ count: Int, at consumer: RingIndex, published: RingIndex) throws(RingError) -> RingIndex {
        let available = published.distance(from: consumer)
        guard count >= 1, count <= Int(available) else {
            throw .responsePastProducer(at: consumer, entries: count, published: available)
        }
        return consumer.advanced(by: UInt32(truncatingIfNeeded: count))
    }

    /// Takes, synchronously, every response published when it looks (`rsp_prod` read and
    /// validated once): copies each out, asks `handler` how many entries its request occupied,
    /// consumes them, and hands the response over, in ring order, until none is left or the
    /// handler says stop. The frontend's counterpart of ``BackRing/serveRequests(with:limit:)``.
    ///
    /// One branch on the ABI per batch, then a loop in which the slot size is a constant and the
    /// indexes stay in registers; `takeResponse(entries:)` and this mix freely.
    ///
    /// - Parameter handler: a generic (not a closure), so its answers are inlined into the loop.
    /// - Returns: how many responses were taken (the one the handler stopped at included).
    /// - Throws: ``RingError`` if `rsp_prod` is invalid or a response claims more entries than
    ///   are published (it is then not consumed); the responses taken before it stay taken.
    @inlinable @inline(__always)
    public mutating func takeResponses(with handler: inout some ResponseHandler) throws(RingError) -> Int {
        try refreshResponses()
        if shared.geometry.abi.resolved == .x86_32 {
            return try takeBatch(with: &handler, entrySize: BlkifLayout.x86_32.entrySize)
        }
        return try takeBatch(with: &handler, entrySize: BlkifLayout.x86_64.entrySize)
    }

    /// The loop of ``takeResponses(with:)`` for a constant `entrySize` (a response's fields sit
    /// at the same offsets in both ABIs; only the slot size differs).
    @_transparent @usableFromInline  // `@inline(__always)` is not honoured for this typed-throws generic
    mutating func takeBatch(with handler: inout some ResponseHandler, entrySize: Int) throws(RingError) -> Int {
        let shared = self.shared, seen = responsesSeen
        var consumer = responseConsumer
        var taken = 0
        // The handler's state in a local copy, which can live in registers; written back on
        // every way out, a throw included.
        var handling = handler
        defer {
            handler = handling
            _responseConsumer = consumer
        }
        while consumer != seen {
            let response = ResponseView(shared.slot(consumer, entrySize: entrySize), abi: shared.geometry.abi).copy()
            consumer = try Self.consuming(handling.entries(answeredBy: response), at: consumer, published: seen)
            taken &+= 1
            guard handling.handle(response) else { break }
        }
        return taken
    }

    /// `RING_FINAL_CHECK_FOR_RESPONSES`: before sleeping, asks for an event on the next response
    /// and re-checks, so a response published meanwhile is never missed.
    /// - Returns: whether responses are pending (do not sleep).
    @inlinable
    public mutating func finalCheckForResponses() throws(RingError) -> Bool {
        if try pendingResponses() > 0 { return true }
        shared.armEvent(shared.responseEvent, after: responseConsumer)
        return try pendingResponses() > 0
    }
}

extension SharedRing {
    /// Reads both producers for an attach and checks `req_prod - rsp_prod <= entryCount`.
    ///
    /// `req_prod` first: the frontend's ``initialize(startingAt:)`` stores it last, with release,
    /// so this acquire makes the rest of the initialised header (`rsp_prod` included) visible.
    @usableFromInline
    func consistentProducers() throws(RingError) -> (requests: RingIndex, responses: RingIndex) {
        let requests = requestProducer.pointee.load(ordering: .acquiring)
        let responses = responseProducer.pointee.load(ordering: .acquiring)
        guard requests.distance(from: responses) <= UInt32(geometry.entryCount) else {
            throw .inconsistentIndexes(requestProducer: requests, responseProducer: responses, entries: geometry.entryCount)
        }
        return (requests, responses)
    }
}

/// A frontend that handles each response as the ring hands it over
/// (``FrontRing/takeResponses(with:)``).
///
/// Conform a struct holding what the handling needs (the requests in flight, by id) and mark
/// both methods `@inline(__always)`: the ring's loop is specialised for it.
public protocol ResponseHandler {
    /// Ring entries the request that `response` answers occupied: 1, or more for a request with
    /// segment blocks. The frontend knows it from the request it issued; a value below 1 or
    /// past the published responses makes ``FrontRing/takeResponses(with:)`` throw.
    func entries(answeredBy response: Response) -> Int

    /// Handles one response (already consumed), in ring order; `false` stops the batch there.
    mutating func handle(_ response: Response) -> Bool
}
