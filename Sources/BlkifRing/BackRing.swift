// The backend's end of the ring: consumes requests (copied out once), produces responses.

import BlkifABI
import CBlkifSystem
import Synchronization

/// The backend's private indexes over a shared ring (ring.h's `back_ring`), and the private
/// buffer every request is copied into before anyone looks at it.
///
/// Every byte of a request is read from shared memory exactly once, into the private copy;
/// decoding and validation only see the copy (no double fetch). `req_prod` is validated on every
/// read: at most a ring of requests unanswered, and never behind the requests consumed.
/// Invariants: `responseProducer <= requestConsumer <= requestsSeen` (modulo 2^32) and
/// `requestsSeen - responseProducer <= entryCount`.
///
/// Non-copyable: it owns the copy buffer. Create it on the thread that serves the ring.
public struct BackRing: ~Copyable {
    /// The shared ring.
    public let shared: SharedRing
    /// What the connection negotiated; fixes how many entries a request may span.
    public let limits: RequestLimits
    /// `req_cons`: requests consumed (copied out).
    @inlinable public var requestConsumer: RingIndex { _requestConsumer }
    @usableFromInline var _requestConsumer: RingIndex
    /// `rsp_prod_pvt`: responses written, published or not.
    @inlinable public var responseProducer: RingIndex { _responseProducer }
    @usableFromInline var _responseProducer: RingIndex
    /// `rsp_prod` as we last published it (we are its only writer; never read back).
    @usableFromInline var responsesPublished: RingIndex
    /// `req_prod` as last read and validated.
    @usableFromInline var requestsSeen: RingIndex
    /// Private copy of the current request: room for its header and every segment block.
    @usableFromInline let copy: UnsafeMutableRawPointer
    /// Entries the copy holds.
    @usableFromInline let copyCapacity: Int

    /// `BACK_RING_ATTACH` at the published `rsp_prod`: requests between it and `req_prod` are
    /// consumed next. The frontend must have initialised the ring.
    /// - Throws: ``RingError/inconsistentIndexes(requestProducer:responseProducer:entries:)`` when
    ///   `req_prod - rsp_prod` exceeds the ring.
    public init(attachingTo base: UnsafeMutableRawPointer, geometry: RingGeometry, limits: RequestLimits = RequestLimits()) throws(RingError) {
        shared = SharedRing(base, geometry: geometry)
        self.limits = limits
        let (requests, responses) = try shared.consistentProducers()
        _requestConsumer = responses
        _responseProducer = responses
        responsesPublished = responses
        requestsSeen = requests
        // A 255-segment request takes at most 20 entries; the smallest ring holds 32.
        copyCapacity = geometry.abi.entriesForSegments(limits.maximumSegments)
        precondition(copyCapacity <= geometry.entryCount, "the ring cannot hold the largest request")
        copy = .allocate(byteCount: copyCapacity * geometry.abi.layout.entrySize, alignment: 16)
    }

    deinit { copy.deallocate() }

    /// Entries in the ring.
    @inlinable public var entryCount: Int { Int(shared.mask) + 1 }

    /// `XEN_RING_NR_UNCONSUMED_REQUESTS` after re-reading and validating `req_prod`:
    /// `min(req_prod - req_cons, entryCount - (req_cons - rsp_prod_pvt))`.
    /// - Throws: ``RingError/requestProducerOverflow(producer:responsesProduced:entries:)`` or
    ///   ``RingError/requestProducerBehindConsumer(producer:consumed:)``.
    @inlinable
    public mutating func pendingRequests() throws(RingError) -> Int {
        try refreshRequests()
        return unconsumedRequests
    }

    @inlinable
    var unconsumedRequests: Int {
        let published = Int(requestsSeen.distance(from: requestConsumer))
        let room = entryCount - Int(requestConsumer.distance(from: responseProducer))
        return min(published, room)
    }

    /// Reads `req_prod` once (acquire: request contents are visible after it) and validates it
    /// (``SharedRing/validatedRequestProducer(responsesProduced:consumed:)``).
    @inlinable
    mutating func refreshRequests() throws(RingError) {
        requestsSeen = try shared.validatedRequestProducer(responsesProduced: responseProducer, consumed: requestConsumer)
    }

    /// Copies the next request out of the ring, header entry and segment blocks, and consumes
    /// its entries; `nil` when none is published.
    ///
    /// The returned copy stays valid until the next call. Decode it with ``RequestCopy/decode()``;
    /// answer it with ``writeResponse(_:entries:)`` passing its ``RequestCopy/entryCount``.
    /// - Throws: ``RingError`` if `req_prod` is invalid or the request spans unpublished entries.
    @inlinable @inline(__always)
    public mutating func takeRequest() throws(RingError) -> RequestCopy? {
        // With `req_prod` validated (at most a ring ahead of our responses), the published count
        // never exceeds the room ring.h clamps to, so "any published" is the whole test here.
        if requestsSeen == requestConsumer {
            try refreshRequests()
            if requestsSeen == requestConsumer { return nil }
        }
        // One branch on the ABI, then a body in which every offset is a constant.
        if shared.geometry.abi.resolved == .x86_32 {
            return try takePublishedRequest(abi: .x86_32)
        }
        return try takePublishedRequest(abi: .x86_64)
    }

    /// ``takeRequest()`` once a request is known to be published, for a constant `abi`.
    @inlinable @inline(__always)
    mutating func takePublishedRequest(abi: ABI) throws(RingError) -> RequestCopy {
        var seen = requestsSeen
        let copied = try Self.copyRequest(
            at: requestConsumer, published: &seen, from: shared, into: copy, responsesProduced: responseProducer, abi: abi,
            limits: limits)
        requestsSeen = seen
        _requestConsumer = requestConsumer.advanced(by: UInt32(truncatingIfNeeded: copied.entries))
        return RequestCopy(copy, entryCount: copied.entries, echoing: copied.echo, abi: abi, limits: limits)
    }

    /// Copies the request at `consumer` (published: `consumer != published`) out of the ring
    /// into `copy`, header entry and segment blocks, each byte read once; returns the entries it
    /// occupies and the operation its response echoes (an indirect request's `indirect_op`),
    /// both taken from the header bytes while they are in a register. Static, with the ring's
    /// state passed in, so a serving loop keeps it in registers.
    ///
    /// - Parameter published: `req_prod` as last validated; re-read (and validated) only if a
    ///   request's segment blocks run past it.
    /// - Throws: ``RingError/requestPastProducer(at:entries:published:)`` when they still do,
    ///   or the errors of ``SharedRing/validatedRequestProducer(responsesProduced:consumed:)``.
    @_transparent @usableFromInline  // `@inline(__always)` is not honoured for this typed-throws function in every loop
    static func copyRequest(
        at consumer: RingIndex, published: inout RingIndex, from shared: SharedRing, into copy: UnsafeMutableRawPointer,
        responsesProduced: RingIndex, abi: ABI, limits: RequestLimits
    ) throws(RingError) -> (entries: Int, echo: Operation) {
        let source = shared.slot(consumer, entrySize: abi.layout.entrySize)
        // The bytes before `id` (operation, nr_segments, handle; 8 on x86_64, 4 on x86_32) are
        // read once into a register, which decides the entry count; the rest is copied from `id`
        // on. Decoding reads the copy back at once, and a read is forwarded from the store that
        // made it only when it starts where that store starts (a read from inside a wider store,
        // or a byte of one, waits for the store to reach the cache on some processors, AMD Zen
        // among them). So the copy's moves are cut where decoding reads:
        // - a short request (one segment, or a discard) in 8-byte moves, one per 64-bit field
        //   and segment, which decoding reads one by one;
        // - any other in 16-byte stores from `id`, which start where the segment validation,
        //   vectorised two segments a load, reads (offsets 24 + 16k on x86_64, 20 + 16k on
        //   x86_32); on x86_64 the ring is read in 16-byte loads from the entry's start, which
        //   never straddle two cache lines (``copyTailRealigned(from:to:)``).
        let first: UInt64
        if abi.layout.requestID == 8 {
            first = source.loadUnaligned(as: UInt64.self)
            copy.storeBytes(of: first, as: UInt64.self)
        } else {
            let word = source.loadUnaligned(as: UInt32.self)
            copy.storeBytes(of: word, as: UInt32.self)
            first = UInt64(word)
        }
        let prefix = abi.layout.requestID
        let header = UInt64(littleEndian: first)
        let operation = UInt8(truncatingIfNeeded: header), segments = UInt8(truncatingIfNeeded: header >> 8)
        if (operation <= Operation.write.rawValue && segments <= 1) || operation == Operation.discard.rawValue {
            // The commonest short requests end 24 bytes after `id` (a one-segment read or
            // write, a discard): copy just those, in 8-byte moves. The rest of the copy is not
            // part of them. Each occupies one entry.
            copyWords(from: source + prefix, to: copy + prefix, count: shortTail / 8)
            cblkif_compiler_barrier()  // later reads use the copy, never re-load the shared slot
            return (1, Operation(rawValue: operation))
        }
        if abi.resolved == .x86_64 {
            copyTailRealigned(from: source, to: copy)
        } else {
            // 108-byte entries start on any multiple of 4: no one cut avoids every straddle.
            (copy + prefix).copyMemory(from: source + prefix, byteCount: entryTail)
        }
        cblkif_compiler_barrier()  // later reads use the copy, never re-load the shared slot
        // At most the copy's capacity: entryCount never exceeds what maximumSegments needs.
        let count = BlkifRequest.entryCount(
            operation: Operation(rawValue: operation), segmentCount: Int(segments), abi: abi, limits: limits)
        if count > 1 {
            try copyBlocks(
                at: consumer, count: count, published: &published, from: shared, into: copy,
                responsesProduced: responsesProduced, abi: abi)
        }
        // An indirect request's response carries the read or write it carried (byte 1).
        return (count, Operation(rawValue: operation == Operation.indirect.rawValue ? segments : operation))
    }

    /// Copies the segments of the segment blocks of the `count`-entry request at `consumer`,
    /// back to back after the header entry's (``BlkifLayout/copySize(entries:)``).
    ///
    /// Not forced inline: `@inline(__always)` here made every single-entry request a third
    /// slower (ringbench, 16 pages, 1 segment: 97 → 62 Mreq/s), and `@inline(never)` cost the
    /// 64-segment rows a quarter; left to the optimiser, both are at their best.
    @inlinable
    static func copyBlocks(
        at consumer: RingIndex, count: Int, published: inout RingIndex, from shared: SharedRing,
        into copy: UnsafeMutableRawPointer, responsesProduced: RingIndex, abi: ABI
    ) throws(RingError) {
        if Int(published.distance(from: consumer)) < count {
            // A well-behaved frontend publishes a request's entries together; look once more.
            published = try shared.validatedRequestProducer(responsesProduced: responsesProduced, consumed: consumer)
            guard Int(published.distance(from: consumer)) >= count else {
                throw .requestPastProducer(at: consumer, entries: count, published: published.distance(from: consumer))
            }
        }
        let run = shared.entries(from: consumer, count: count)
        // A constant size per ABI: inline vector moves, not a call to memmove.
        if abi.resolved == .x86_32 {
            run.copySegmentBlocks(to: copy + BlkifLayout.x86_32.entrySize, blockBytes: BlkifLayout.x86_32.segmentsPerBlock * BlkifLayout.segmentSize)
        } else {
            run.copySegmentBlocks(to: copy + BlkifLayout.x86_64.entrySize, blockBytes: BlkifLayout.x86_64.segmentsPerBlock * BlkifLayout.segmentSize)
        }
        cblkif_compiler_barrier()  // later reads use the copy, never re-load the shared slots
    }

    /// Copies the 104 bytes after the header word of an x86_64 entry (`id` to the end) from
    /// `source` to `destination`, reading the ring in 16-byte loads from the entry's start and
    /// writing the copy in 16-byte stores from `id`.
    ///
    /// x86_64 entries are 112 bytes from a 64-byte header, so each starts on 16 bytes: loads
    /// from its start never straddle two cache lines, where loads from `id` (8 bytes in) do,
    /// once or twice an entry. A straddling load needs both lines, and while the frontend is
    /// still writing the entries near this one (a backend that publishes as it goes) it waits
    /// for lines the other core holds (`ringbench --pages 16 --workload 11seg --push-every 32`:
    /// 36–39 → 41–44 Mreq/s, 1.01–1.16× → 1.09–1.24× the C reference, which copies from the
    /// start; once-per-batch publishing and the serial mode unchanged or slightly faster). The
    /// stores stay where the segment validation reads (see
    /// ``copyRequest(at:published:from:into:responsesProduced:abi:limits:)``), each made of the
    /// halves of two loads put together in a register. The header word is loaded again with
    /// `id` and this second copy of it discarded: every byte kept is read once.
    @inlinable @inline(__always)
    static func copyTailRealigned(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer) {
        var low = source.loadUnaligned(as: SIMD2<UInt64>.self)
        for index in 1..<7 {
            let high = source.loadUnaligned(fromByteOffset: index &* 16, as: SIMD2<UInt64>.self)
            destination.storeBytes(of: SIMD2(low[1], high[0]), toByteOffset: index &* 16 &- 8, as: SIMD2<UInt64>.self)
            low = high
        }
        destination.storeBytes(of: low[1], toByteOffset: 104, as: UInt64.self)
    }

    /// Copies `count` 8-byte words from `source` to `destination`, one load and one store each,
    /// so that a later 8-byte read of any field or segment of the copy is forwarded from the
    /// store that wrote it (see ``copyRequest(at:published:from:into:responsesProduced:abi:limits:)``).
    @inlinable @inline(__always)
    static func copyWords(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int) {
        for index in 0..<count {
            // safe: the callers' sources and destinations hold `count` words.
            destination.storeBytes(
                of: source.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self), toByteOffset: index &* 8, as: UInt64.self)
        }
    }

    /// Serves, synchronously, every request published when it looks: copies each out once,
    /// hands it to `answer`, writes the response (the request's id and operation, and the status
    /// `answer` returns) in place, and then publishes the responses
    /// (`RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`).
    ///
    /// The fast path for a backend that answers as it goes (an error, a RAM disk, a benchmark):
    /// one branch on the ABI per batch, then a loop in which every offset is a constant and the
    /// indexes stay in registers. A backend that answers later uses ``takeRequest()`` and
    /// ``writeResponse(_:entries:)`` instead; the two mix freely.
    ///
    /// - Parameters:
    ///   - responder: asked once per request, in ring order, with its private copy (valid during
    ///     the call); decodes it with ``RequestCopy/decode()`` and returns the status. A generic
    ///     (not a closure), so its answer is inlined into the loop.
    ///   - limit: the most requests to serve before publishing (at least 1). By default every
    ///     request published when it looks; a smaller batch publishes sooner, so the frontend
    ///     takes the first responses while the rest are still being served (Linux's blkback
    ///     publishes each response as its request completes). The requests left over are
    ///     served by the next call.
    /// - Returns: how many requests were served, and whether the frontend asked to be woken.
    /// - Throws: ``RingError`` for a hostile `req_prod` or a request running past it. The
    ///   responses written before it are published first; none is lost.
    @inlinable @inline(__always)
    public mutating func serveRequests(with responder: inout some RequestResponder, limit: Int = .max) throws(RingError) -> ServedRequests {
        precondition(limit >= 1, "serveRequests(with:limit:) serves at least one request")
        try refreshRequests()
        // One branch on the ABI per batch; each loop below sees a constant layout throughout,
        // the responder's decoding included.
        if shared.geometry.abi.resolved == .x86_32 {
            return try serveBatch(with: &responder, limit: limit, abi: .x86_32)
        }
        return try serveBatch(with: &responder, limit: limit, abi: .x86_64)
    }

    /// The loop of ``serveRequests(with:limit:)`` for a constant `abi`.
    @_transparent @usableFromInline  // `@inline(__always)` is not honoured for this typed-throws generic
    mutating func serveBatch(with responder: inout some RequestResponder, limit: Int, abi: ABI) throws(RingError) -> ServedRequests {
        // The state lives in locals for the loop (stores into the ring cannot alias them) and is
        // written back once.
        var consumer = requestConsumer, producer = responseProducer, published = requestsSeen
        var served = 0
        var failure: RingError?
        // The responder's state too: a local copy can live in registers, the caller's cannot.
        var answering = responder
        defer { responder = answering }
        // With every consumed request answered (a backend that answers as it goes), each response
        // goes where its request was, and the response index needs no register of its own.
        if consumer == producer {
            Self.serveLoop(
                answering: &answering, consumer: &consumer, producer: &producer, published: &published, served: &served,
                failure: &failure, limit: limit, shared: shared, copy: copy, limits: limits, abi: abi, inPlace: true)
        } else {
            Self.serveLoop(
                answering: &answering, consumer: &consumer, producer: &producer, published: &published, served: &served,
                failure: &failure, limit: limit, shared: shared, copy: copy, limits: limits, abi: abi, inPlace: false)
        }
        _requestConsumer = consumer
        _responseProducer = producer
        requestsSeen = published
        let decision = producer == responsesPublished ? NotifyDecision.noNotification : pushResponses()
        if let failure { throw failure }
        return ServedRequests(count: served, notify: decision)
    }

    /// The requests of ``serveBatch(with:limit:abi:)``, each copied, answered and its response
    /// written, until none is published, `limit` are served or one fails (`failure`).
    ///
    /// - Parameter inPlace: whether `producer` equals `consumer` (a constant): then it still
    ///   does after each request, which occupies as many response entries as request entries,
    ///   so each response is written in its request's slot and `producer` is set once, at the end.
    @_transparent @usableFromInline  // as serveBatch
    static func serveLoop(
        answering: inout some RequestResponder, consumer: inout RingIndex, producer: inout RingIndex,
        published: inout RingIndex, served: inout Int, failure: inout RingError?, limit: Int, shared: SharedRing,
        copy: UnsafeMutableRawPointer, limits: RequestLimits, abi: ABI, inPlace: Bool
    ) {
        while consumer != published, served < limit {
            Self.prefetchRequest(at: consumer.advanced(by: Self.prefetchDistance), before: published, after: consumer, in: shared, abi: abi)
            let slot = shared.slot(consumer, entrySize: abi.layout.entrySize)
            let copied: (entries: Int, echo: Operation)
            do {
                copied = try Self.copyRequest(
                    at: consumer, published: &published, from: shared, into: copy, responsesProduced: inPlace ? consumer : producer,
                    abi: abi, limits: limits)
            } catch {
                failure = error
                break
            }
            consumer = consumer.advanced(by: UInt32(truncatingIfNeeded: copied.entries))
            let request = RequestCopy(copy, entryCount: copied.entries, echoing: copied.echo, abi: abi, limits: limits)
            let status = answering.respond(to: request)
            let header = request.header
            ResponseView(inPlace ? slot : shared.slot(producer, entrySize: abi.layout.entrySize), abi: abi)
                .write(id: header.id, operation: header.operation, status: status)
            if !inPlace {
                producer = producer.advanced(by: UInt32(truncatingIfNeeded: copied.entries))
            }
            served &+= 1
        }
        if inPlace {
            producer = consumer
        }
    }

    /// Requests ahead of the one being copied whose header is prefetched (measured: 4 beats 8 and
    /// none, most on small rings, where each request's cache-line misses otherwise come one at
    /// a time).
    @inlinable static var prefetchDistance: UInt32 { 4 }

    /// Starts loading the first 32 bytes of the request at `index` (a header and `seg[0]`, or a
    /// discard) if it is published (`index` in `consumer..<published`): never a slot the
    /// frontend may still be writing, whose line a prefetch would pull away mid-write.
    @inlinable @inline(__always)
    static func prefetchRequest(at index: RingIndex, before published: RingIndex, after consumer: RingIndex, in shared: SharedRing, abi: ABI) {
        guard index.distance(from: consumer) < published.distance(from: consumer) else { return }
        // safe: a prefetch never faults.
        let slot = shared.slot(index, entrySize: abi.layout.entrySize)
        cblkif_prefetch(slot)
        cblkif_prefetch(slot + 31)
    }

    /// Bytes of a request entry from `id` to its end: 104 in both ABIs (112 − 8, 108 − 4).
    @inlinable static var entryTail: Int { 104 }

    /// Bytes from `id` to the end of a one-segment request's `seg[0]`, or of a discard's
    /// `nr_sectors`: 24 in both ABIs.
    @inlinable static var shortTail: Int { 24 }

    /// Writes a response in place (every byte, padding included) and reserves `entries` entries
    /// for it: as many as its request occupied. Visible to the front at ``pushResponses()``.
    @inlinable @inline(__always)
    public mutating func writeResponse(_ response: Response, entries: Int = 1) {
        precondition(entries >= 1 && Int(requestConsumer.distance(from: responseProducer)) >= entries,
                     "a response needs a consumed request of as many entries")
        shared.entries(from: responseProducer, count: 1).response
            .write(id: response.id, operation: response.operation, status: response.status)
        _responseProducer = responseProducer.advanced(by: UInt32(truncatingIfNeeded: entries))
    }

    /// `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`: publishes every written response and says whether
    /// the frontend asked to be woken.
    @inlinable
    public mutating func pushResponses() -> NotifyDecision {
        let old = responsesPublished
        responsesPublished = responseProducer
        return shared.publish(responseProducer, after: old, to: shared.responseProducer, peerEvent: shared.responseEvent)
    }

    /// `RING_FINAL_CHECK_FOR_REQUESTS`: before sleeping, asks for an event on the next request
    /// and re-checks, so a request published meanwhile is never missed.
    /// - Returns: whether requests are pending (do not sleep).
    @inlinable
    public mutating func finalCheckForRequests() throws(RingError) -> Bool {
        if try pendingRequests() > 0 { return true }
        shared.armEvent(shared.requestEvent, after: requestConsumer)
        return try pendingRequests() > 0
    }
}

/// A backend that answers each request as it is served (``BackRing/serveRequests(with:limit:)``).
///
/// Conform a struct holding whatever state the answers need, and mark ``respond(to:)``
/// `@inline(__always)`: the ring's loop is specialised for it, with no call per request.
public protocol RequestResponder {
    /// Decides the status of one request, given its private copy (valid during the call).
    /// The ring echoes the request's id and operation in the response.
    mutating func respond(to request: RequestCopy) -> Status
}

/// What one ``BackRing/serveRequests(with:limit:)`` did.
@frozen
public struct ServedRequests: Hashable, Sendable {
    /// Requests served (and answered).
    public let count: Int
    /// Whether the frontend asked to be woken for these responses.
    public let notify: NotifyDecision

    /// A summary (the ring makes these).
    @inlinable
    init(count: Int, notify: NotifyDecision) {
        self.count = count
        self.notify = notify
    }
}

/// A request copied out of the ring: private bytes no peer can change.
///
/// Valid until the ``BackRing`` that produced it takes the next request.
@frozen
public struct RequestCopy {
    /// The request as copied: its header entry, then the segments of its segment blocks
    /// (``BlkifLayout/copySize(entries:)`` bytes). Only the bytes the request's operation and
    /// segment count give meaning to are its own; past them (past `seg[0]` of a one-segment
    /// read, for instance) the private buffer may still hold an earlier request's bytes.
    public let bytes: UnsafeRawBufferPointer
    /// Entries it occupied on the ring; its response must occupy as many.
    public let entryCount: Int
    /// The ring's ABI.
    public let abi: ABI
    /// The connection's limits.
    public let limits: RequestLimits
    /// The operation the response echoes, from the header bytes the ring copied.
    @usableFromInline let echo: Operation

    /// Describes the `entryCount`-entry request copied at `copy`, answered with `echo` (the
    /// ring makes these).
    @inlinable @inline(__always)
    init(_ copy: UnsafeMutableRawPointer, entryCount: Int, echoing echo: Operation, abi: ABI, limits: RequestLimits) {
        self.bytes = UnsafeRawBufferPointer(start: copy, count: abi.layout.copySize(entries: entryCount))
        self.entryCount = entryCount
        self.echo = echo
        self.abi = abi
        self.limits = limits
    }

    /// The request's id and the operation its response echoes, read from the copy, to answer
    /// it even if it is malformed: the ring operation, except for an indirect request, whose
    /// response carries its `indirect_op` (as Linux's blkback answers and its blkfront checks;
    /// a response with operation 6 makes Linux's blkfront fail the device).
    @inlinable
    public var header: (id: RequestID, operation: Operation) {
        // The operation was taken from the header bytes in a register as they were copied; a
        // load of byte 1 from the copy here cost a one-segment request 20 instructions.
        (RequestView(UnsafeMutableRawPointer(mutating: bytes.baseAddress.unsafelyUnwrapped), abi: abi).id, echo)
    }

    /// Validates the copy into a typed request (see ``BlkifRequest/decode(_:abi:limits:)``).
    @_transparent  // like decode: `@inline(__always)` is not honoured across modules here
    public func decode() throws(RequestError) -> BlkifRequest {
        // One branch on the ABI, then a decoder in which every offset is a constant.
        if abi.resolved == .x86_32 {
            return try BlkifRequest.decode(bytes, abi: .x86_32, limits: limits)
        }
        return try BlkifRequest.decode(bytes, abi: .x86_64, limits: limits)
    }
}
