// The shared ring: the 64-byte header of free-running indexes, and the entries after it.

import BlkifABI
import Synchronization

/// A view of a shared ring in memory both sides map: four indexes at offsets 0, 4, 8 and 12
/// (`req_prod`, `req_event`, `rsp_prod`, `rsp_event`), entries from offset 64.
///
/// The memory is the caller's: page-aligned, ``RingGeometry/byteCount`` bytes, mapped for the
/// life of the view. The indexes are accessed only through atomics with explicit orderings, so
/// the view is correct between two processes as well as two threads.
@frozen
public struct SharedRing {
    /// Start of the ring memory (the header).
    public let base: UnsafeMutableRawPointer
    /// Pages, ABI and entry count.
    public let geometry: RingGeometry
    /// `entryCount - 1`: masks an index to its slot.
    public let mask: UInt32

    /// A view of the ring at `base`; traps unless `base` is page-aligned.
    @inlinable
    public init(_ base: UnsafeMutableRawPointer, geometry: RingGeometry) {
        precondition(Int(bitPattern: base) % RingGeometry.pageSize == 0, "ring memory must be page-aligned")
        self.base = base
        self.geometry = geometry
        self.mask = UInt32(geometry.entryCount - 1)
    }

    @inlinable
    func index(at offset: Int) -> UnsafeMutablePointer<Atomic<RingIndex>> {
        // safe: offsets 0...12 lie in the header; Atomic<RingIndex> has UInt32's size and alignment.
        (base + offset).assumingMemoryBound(to: Atomic<RingIndex>.self)
    }

    /// `req_prod`: requests published by the front.
    @inlinable public var requestProducer: UnsafeMutablePointer<Atomic<RingIndex>> { index(at: 0) }
    /// `req_event`: the back wants an event when `req_prod` passes this.
    @inlinable public var requestEvent: UnsafeMutablePointer<Atomic<RingIndex>> { index(at: 4) }
    /// `rsp_prod`: responses published by the back.
    @inlinable public var responseProducer: UnsafeMutablePointer<Atomic<RingIndex>> { index(at: 8) }
    /// `rsp_event`: the front wants an event when `rsp_prod` passes this.
    @inlinable public var responseEvent: UnsafeMutablePointer<Atomic<RingIndex>> { index(at: 12) }

    /// The four indexes as they are now, each read once with an acquiring load: to observe a
    /// ring (diagnostics, tests, a monitor) without touching atomics.
    @inlinable
    public var indexes: Indexes {
        Indexes(
            requestProducer: requestProducer.pointee.load(ordering: .acquiring),
            requestEvent: requestEvent.pointee.load(ordering: .acquiring),
            responseProducer: responseProducer.pointee.load(ordering: .acquiring),
            responseEvent: responseEvent.pointee.load(ordering: .acquiring))
    }

    /// A reading of the shared header's four indexes (see ``SharedRing/indexes``). The peer
    /// may move them at any moment; a reading is a snapshot, not a promise.
    @frozen
    public struct Indexes: Hashable, Sendable, CustomStringConvertible {
        /// `req_prod`.
        public let requestProducer: RingIndex
        /// `req_event`.
        public let requestEvent: RingIndex
        /// `rsp_prod`.
        public let responseProducer: RingIndex
        /// `rsp_event`.
        public let responseEvent: RingIndex

        /// A reading (the ring makes these).
        @inlinable
        init(requestProducer: RingIndex, requestEvent: RingIndex, responseProducer: RingIndex, responseEvent: RingIndex) {
            self.requestProducer = requestProducer
            self.requestEvent = requestEvent
            self.responseProducer = responseProducer
            self.responseEvent = responseEvent
        }

        public var description: String {
            "req_prod \(requestProducer) req_event \(requestEvent) rsp_prod \(responseProducer) rsp_event \(responseEvent)"
        }
    }

    /// Slot 0 of the entries.
    @inlinable public var entries: UnsafeMutableRawPointer { base + RingGeometry.headerSize }

    /// Address of the slot `index` falls in, for entries of `entrySize` bytes (a constant where
    /// the caller's ABI is one, so the hot loops multiply by a literal).
    @inlinable @inline(__always)
    func slot(_ index: RingIndex, entrySize: Int) -> UnsafeMutableRawPointer {
        // safe: a masked index is inside the ring.
        entries + Int(truncatingIfNeeded: index.rawValue & mask) &* entrySize
    }

    /// The run of `count` entries starting at `index`, wrapping at the end of the ring.
    @inlinable
    public func entries(from index: RingIndex, count: Int) -> RingEntries {
        RingEntries(ring: entries, mask: mask, first: index.rawValue, count: count, abi: geometry.abi)
    }

    /// Reads `req_prod` once (acquire: request contents are visible after it) and validates it
    /// against the backend's indexes: at most a ring of requests unanswered
    /// (`RING_REQUEST_PROD_OVERFLOW`), and never behind the requests already consumed (a
    /// producer index only moves forward).
    ///
    /// Both are one check: measured from `rsp_prod_pvt`, `req_prod` must lie in
    /// `req_cons - rsp_prod_pvt ... entryCount` (modulo 2^32).
    @inlinable
    func validatedRequestProducer(responsesProduced: RingIndex, consumed: RingIndex) throws(RingError) -> RingIndex {
        let producer = requestProducer.pointee.load(ordering: .acquiring)
        let ahead = producer.distance(from: responsesProduced)
        guard ahead <= mask &+ 1, ahead >= consumed.distance(from: responsesProduced) else {
            throw Self.requestProducerError(producer, responsesProduced: responsesProduced, consumed: consumed, entries: Int(mask) + 1)
        }
        return producer
    }

    /// The error for a `req_prod` that ``validatedRequestProducer(responsesProduced:consumed:)``
    /// refuses (cold path).
    @usableFromInline @inline(never)
    static func requestProducerError(_ producer: RingIndex, responsesProduced: RingIndex, consumed: RingIndex, entries: Int) -> RingError {
        if producer.distance(from: responsesProduced) > UInt32(entries) {
            if consumed.distance(from: producer) <= UInt32(entries) {
                return .requestProducerBehindConsumer(producer: producer, consumed: consumed)
            }
            return .requestProducerOverflow(producer: producer, responsesProduced: responsesProduced, entries: entries)
        }
        return .requestProducerBehindConsumer(producer: producer, consumed: consumed)
    }

    /// `SHARED_RING_INIT`, optionally at a non-zero start (as `FRONT_RING_ATTACH` would find it):
    /// both producers at `start`, both event indexes at `start + 1`, the rest of the header zero.
    /// Only the frontend initialises a ring.
    @inlinable
    public func initialize(startingAt start: RingIndex = RingIndex(0)) {
        (base + 16).initializeMemory(as: UInt8.self, repeating: 0, count: RingGeometry.headerSize - 16)
        requestEvent.pointee.store(start.advanced(by: 1), ordering: .relaxed)
        responseEvent.pointee.store(start.advanced(by: 1), ordering: .relaxed)
        responseProducer.pointee.store(start, ordering: .relaxed)
        // publishes the initialised header before any later release of ours is seen
        requestProducer.pointee.store(start, ordering: .releasing)
    }

    /// `RING_PUSH_*_AND_CHECK_NOTIFY` for either direction: publishes `new` (previously `old`)
    /// in `producer` and says whether that crossed the peer's `event` index,
    /// ring.h's `(new - event) < (new - old)`.
    @inlinable @inline(__always)
    func publish(
        _ new: RingIndex, after old: RingIndex,
        to producer: UnsafeMutablePointer<Atomic<RingIndex>>, peerEvent event: UnsafeMutablePointer<Atomic<RingIndex>>
    ) -> NotifyDecision {
        // the peer sees the entries before the updated producer index
        producer.pointee.store(new, ordering: .releasing)
        // the peer sees the new index before we read its event index
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let wanted = event.pointee.load(ordering: .relaxed)
        return new.distance(from: wanted) < new.distance(from: old) ? .notifyPeer : .noNotification
    }

    /// The middle of `RING_FINAL_CHECK_FOR_*`: asks for an event when the peer produces the entry
    /// after `consumer`, and makes that request visible before the caller re-reads the peer's
    /// producer index.
    @inlinable @inline(__always)
    func armEvent(_ event: UnsafeMutablePointer<Atomic<RingIndex>>, after consumer: RingIndex) {
        event.pointee.store(consumer.advanced(by: 1), ordering: .relaxed)
        // the event index is visible before the producer index is re-read
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }
}

/// A peer's index that no well-behaved peer could have written.
public enum RingError: Error, Hashable, CustomStringConvertible {
    /// `req_prod` claims more outstanding requests than the ring holds (`RING_REQUEST_PROD_OVERFLOW`).
    case requestProducerOverflow(producer: RingIndex, responsesProduced: RingIndex, entries: Int)
    /// `req_prod` moved back behind the requests the backend already consumed (`req_cons`).
    case requestProducerBehindConsumer(producer: RingIndex, consumed: RingIndex)
    /// `rsp_prod` claims more responses than requests were issued (`RING_RESPONSE_PROD_OVERFLOW`).
    case responseProducerOverflow(producer: RingIndex, consumed: RingIndex, requested: RingIndex)
    /// A request's header says it spans more entries than were published.
    case requestPastProducer(at: RingIndex, entries: Int, published: UInt32)
    /// A response is said to span more entries than were published.
    case responsePastProducer(at: RingIndex, entries: Int, published: UInt32)
    /// When attaching, `req_prod - rsp_prod` is larger than the ring.
    case inconsistentIndexes(requestProducer: RingIndex, responseProducer: RingIndex, entries: Int)

    public var description: String {
        switch self {
        case .requestProducerOverflow(let producer, let responses, let entries):
            "req_prod \(producer) is more than \(entries) entries past rsp_prod_pvt \(responses)"
        case .requestProducerBehindConsumer(let producer, let consumed):
            "req_prod \(producer) moved back behind req_cons \(consumed)"
        case .responseProducerOverflow(let producer, let consumed, let requested):
            "rsp_prod \(producer) is past the \(requested.distance(from: consumed)) requests outstanding from rsp_cons \(consumed)"
        case .requestPastProducer(let index, let entries, let published):
            "request at \(index) spans \(entries) entries but only \(published) are published"
        case .responsePastProducer(let index, let entries, let published):
            "response at \(index) spans \(entries) entries but only \(published) are published"
        case .inconsistentIndexes(let requests, let responses, let entries):
            "req_prod \(requests) - rsp_prod \(responses) exceeds the \(entries)-entry ring"
        }
    }
}
