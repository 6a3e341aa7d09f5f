// Our backend's consumption of a ring a hostile frontend writes.

import BlkifABI
import BlkifRing
import Glibc

/// `BackRing` against a frontend that writes any bytes into any slot and any values into
/// `req_prod` and `rsp_event` between our calls. The input picks the ring's shape, the limits
/// and then a script: the peer's writes interleaved with every way a backend consumes requests
/// (``BackRing/takeRequest()`` answered at once, the asynchronous shape where requests are taken
/// now and answered later in batches, ``BackRing/serveRequests(with:limit:)``, pushes, final
/// checks).
///
/// Properties: no trap, no access outside the ring; only ``RingError`` / ``RequestError``; every
/// request copy holds the ring's bytes (checked against the plain reference copy); one
/// pass takes at most two rings of requests (a ring seen before it, a ring after one re-read of
/// `req_prod`); `req_cons - rsp_prod_pvt` is always the entries of the requests taken and not
/// yet answered, never more than the ring.
enum BackRingProperty {
    /// Runs the property on one input.
    static func check(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let ring = FuzzRing(&input)
        let limits = input.limits()
        _ = FrontRing(initializing: ring.base, geometry: ring.geometry, startingAt: FuzzRing.start(&input))  // only the front initialises
        guard var back = try? BackRing(attachingTo: ring.base, geometry: ring.geometry, limits: limits) else {
            return require(false, "attaching to a freshly initialised ring failed")
        }
        var backend = Backend()
        while !input.isExhausted {
            step(&back, &backend, &input)
            let outstanding = back.requestConsumer.distance(from: back.responseProducer)
            require(Int(outstanding) == backend.unansweredEntries, "req_cons - rsp_prod_pvt = \(outstanding), \(backend.unansweredEntries) entries unanswered")
            require(Int(outstanding) <= back.entryCount, "\(outstanding) entries outstanding in a \(back.entryCount)-entry ring")
        }
    }

    /// One step of the script: a write by the peer, or one of our calls.
    private static func step(_ back: inout BackRing, _ backend: inout Backend, _ input: inout FuzzInput) {
        let shared = back.shared
        switch input.byte() % 10 {
        case 0, 1: shared.scribble(&input)
        case 2: shared.requestProducer.pointee.store(shared.hostileIndex(near: back.responseProducer, &input), ordering: .releasing)
        case 3: shared.requestProducer.pointee.store(shared.hostileIndex(near: back.requestConsumer, &input), ordering: .releasing)
        case 4: shared.responseEvent.pointee.store(shared.hostileIndex(near: back.responseProducer, &input), ordering: .relaxed)
        case 5: backend.take(from: &back, answering: true, most: Int.max)
        case 6: backend.take(from: &back, answering: false, most: input.int(in: 1...8))
        case 7: backend.answer(on: &back, most: input.int(in: 1...8), push: input.bool())
        case 8: backend.serve(on: &back, limit: input.bool() ? Int.max : input.int(in: 1...8))
        default:
            if input.bool() {
                _ = back.pushResponses()
            } else {
                _ = try? back.finalCheckForRequests()
                if let pending = try? back.pendingRequests() {
                    require((0...back.entryCount).contains(pending), "\(pending) requests pending")
                }
            }
        }
    }
}

/// The backend's side of the script: requests taken and not yet answered, in ring order.
private struct Backend {
    /// Id, operation and entries of each request taken and not answered yet.
    var unanswered: [(id: RequestID, operation: Operation, entries: Int)] = []

    /// Entries the unanswered requests occupy.
    var unansweredEntries: Int { unanswered.reduce(0) { $0 + $1.entries } }

    /// Takes requests until none is published or `most` are taken; answers each at once, or
    /// keeps it for ``answer(on:most:push:)``.
    mutating func take(from back: inout BackRing, answering: Bool, most: Int) {
        var taken = 0
        do {
            while taken < most {
                let index = back.requestConsumer
                guard let copy = try back.takeRequest() else { break }
                checkCopy(copy, of: index, in: back.shared)
                taken += 1
                // Bounded: what was seen before the pass (at most a ring), then at most a ring after
                // one re-read of `req_prod`, which the peer does not move during the pass.
                require(taken <= 2 * back.entryCount, "one pass took \(taken) requests from a \(back.entryCount)-entry ring")
                require((1...copy.abi.entriesForSegments(copy.limits.maximumSegments)).contains(copy.entryCount), "\(copy.entryCount) entries")
                let status = Self.status(of: copy)
                let header = copy.header
                if answering {
                    back.writeResponse(Response(id: header.id, operation: header.operation, status: status), entries: copy.entryCount)
                } else {
                    unanswered.append((header.id, header.operation, copy.entryCount))
                }
            }
        } catch {
            _ = error as RingError  // typed: only RingError can reach here
        }
        if answering { _ = back.pushResponses() }
    }

    /// Answers up to `most` of the requests taken earlier, oldest first.
    mutating func answer(on back: inout BackRing, most: Int, push: Bool) {
        let count = min(most, unanswered.count)
        for request in unanswered.prefix(count) {
            back.writeResponse(Response(id: request.id, operation: request.operation, status: .okay), entries: request.entries)
        }
        unanswered.removeFirst(count)
        if push { _ = back.pushResponses() }
    }

    /// Serves with the batch call, beside any requests still unanswered (responses may come in
    /// any order; each takes the entries of the request it answers).
    mutating func serve(on back: inout BackRing, limit: Int) {
        var responder = DecodingResponder(shared: back.shared, next: back.requestConsumer)
        do {
            let served = try back.serveRequests(with: &responder, limit: limit)
            require(served.count == responder.served, "served \(served.count), responder asked \(responder.served) times")
        } catch {
            _ = error as RingError  // typed: only RingError can reach here
        }
        require(responder.served <= min(limit, back.entryCount), "served \(responder.served) with limit \(limit)")
    }

    /// Decodes the copy: the status to answer with.
    static func status(of copy: RequestCopy) -> Status {
        do {
            _ = try copy.decode()
            return .okay
        } catch {
            return error.status
        }
    }
}

/// Answers every request after decoding it, checking each copy against the ring.
private struct DecodingResponder: RequestResponder {
    let shared: SharedRing
    /// The index of the next request's first entry.
    var next: RingIndex
    var served = 0

    mutating func respond(to request: RequestCopy) -> Status {
        served += 1
        checkCopy(request, of: next, in: shared)
        next = next.advanced(by: UInt32(request.entryCount))
        return Backend.status(of: request)
    }
}

/// The backend's copy of the request at `index` must hold what the ring holds there (the peer
/// writes nothing while we take it): the same bytes as the plain reference copy,
/// `RingEntries.copyRequest(into:limits:)`, over every byte the request gives meaning to (a
/// one-segment read or write, or a discard, ends after its first segment's 8 bytes; the rest of
/// the backend's private buffer may hold an earlier request).
private func checkCopy(_ copy: RequestCopy, of index: RingIndex, in shared: SharedRing) {
    let reference = ExactBuffer(count: copy.bytes.count)
    let (bytes, entries) = shared.entries(from: index, count: copy.entryCount)
        .copyRequest(into: reference.bytes.baseAddress.unsafelyUnwrapped, limits: copy.limits)
    require(entries == copy.entryCount && bytes.count == copy.bytes.count, "copied \(copy.entryCount) entries, the header says \(entries)")
    let (operation, segments) = (bytes[0], bytes[1])
    let short = (operation <= Operation.write.rawValue && segments <= 1) || operation == Operation.discard.rawValue
    let meaningful = short ? copy.abi.layout.requestSegments + BlkifLayout.segmentSize : bytes.count
    require(memcmp(copy.bytes.baseAddress.unsafelyUnwrapped, bytes.baseAddress.unsafelyUnwrapped, meaningful) == 0,
            "the copy of the request at \(index) differs from the ring's bytes within its first \(meaningful)")
}
