// Our rings driven through the workload with the same loops as the C peer's run_front/run_back.

import BlkifABI
import BlkifRing
import Foundation

/// How one end waits for its peer and signals it: spinning (`poll`) or sleeping on a
/// ``FutexEventChannel`` (`event`), with optional seeded random delays. Every wait is bounded.
struct RingPacing {
    /// Spin or sleep when there is nothing to do.
    enum Mode: String { case poll, event }

    let mode: Mode
    private var channel: FutexEventChannel
    private var random: UInt64
    private let began = ContinuousClock.now
    /// Notify decisions that said `notifyPeer` (sent as futex wakes in event mode).
    private(set) var notifications = 0
    /// Times this end went to sleep (event mode).
    private(set) var waits = 0
    private var idles = 0
    /// Says whether the peer process has gone, so a spinning end does not outwait a dead peer.
    var peerGone: (() -> Bool)?

    /// The longest sleep before a missing event counts as a lost wakeup.
    static let wakeupTimeout = Duration.seconds(10)
    /// The longest a whole run may take.
    static let runTimeout = Duration.seconds(300)

    /// Pacing for `side` over the event counters at `words`; `seed` 0 means no delays.
    init(mode: Mode, words: UnsafeMutableRawPointer, side: FutexEventChannel.Side, seed: UInt64) {
        self.mode = mode
        channel = FutexEventChannel(words: words, side: side)
        random = seed
    }

    /// Counts a notification and, in event mode, sends it.
    mutating func notify() {
        notifications += 1
        if mode == .event { channel.notify() }
    }

    /// Nothing to do: yield (poll) or sleep until the peer's next event (event), both bounded.
    mutating func idle() throws(RingMismatch) {
        guard began.duration(to: .now) < Self.runTimeout else {
            throw RingMismatch(description: "no completion within \(Self.runTimeout)")
        }
        idles += 1
        if idles % 256 == 0, let peerGone, peerGone() {
            throw RingMismatch(description: "the peer exited before the run completed")
        }
        guard mode == .event else { sched_yield(); return }
        waits += 1
        guard channel.wait(timeout: Self.wakeupTimeout) else {
            throw RingMismatch(description: "lost wakeup: no event within \(Self.wakeupTimeout)")
        }
    }

    /// With a seed, sometimes sleeps up to 200 µs or yields (the C peer's xorshift64 schedule).
    mutating func maybeDelay() {
        guard random != 0 else { return }
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        switch random % 16 {
        case 0: usleep(UInt32((random >> 32) % 200))
        case 1: sched_yield()
        default: break
        }
    }
}

/// Runs the workload through our ``FrontRing``: fills the ring (or a lock-step batch), publishes,
/// checks every response in order, and idles only after `finalCheckForResponses()`. Drains take
/// responses one at a time (`takeResponse(entries:)`) and a batch at a time
/// (`takeResponses(with:)`) in turn, so both are proven against the peer.
struct FrontDriver {
    var ring: FrontRing
    var pacing: RingPacing
    let count: UInt64
    /// Lock-step batch size, 0 to keep the ring full.
    let batch: Int
    private var next: UInt64 = 0
    private var done: UInt64 = 0
    private var drains = 0

    init(ring: FrontRing, pacing: RingPacing, count: Int, batch: Int) {
        self.ring = ring
        self.pacing = pacing
        self.count = UInt64(count)
        self.batch = batch
    }

    mutating func run() throws {
        while done < count {
            pacing.maybeDelay()
            let made = fill()
            if made > 0 { try publish() }
            let got = try drain()
            if made > 0 || got > 0 { continue }
            if try !ring.finalCheckForResponses() { try pacing.idle() }
        }
    }

    private mutating func fill() -> Int {
        if batch > 0 && done != next { return 0 }
        var made = 0
        while next < count && (batch == 0 || made < batch) {
            let request = WorkloadRequest(next)
            guard let run = ring.reserveRequest(entries: request.entries(abi: ring.shared.geometry.abi)) else { break }
            request.write(into: run)
            next += 1
            made += 1
        }
        return made
    }

    private mutating func publish() throws {
        if batch > 0 { _ = try ring.finalCheckForResponses() }  // lock-step: arm before publishing
        if ring.pushRequests() == .notifyPeer { pacing.notify() }
    }

    private mutating func drain() throws -> Int {
        drains += 1
        if drains % 2 == 0 { return try drainBatch() }
        var got = 0
        while done < next {
            let expected = WorkloadRequest(done)
            let entries = expected.entries(abi: ring.shared.geometry.abi)
            guard let response = try ring.takeResponse(entries: { _ in entries }) else { break }
            try expected.check(response)
            done += 1
            got += 1
        }
        return got
    }

    /// Takes every published response with `takeResponses(with:)`, checking each in order.
    private mutating func drainBatch() throws -> Int {
        var checker = ResponseChecker(next: done, abi: ring.shared.geometry.abi)
        _ = try ring.takeResponses(with: &checker)
        if let mismatch = checker.mismatch { throw mismatch }
        let got = Int(checker.next - done)
        done = checker.next
        return got
    }
}

/// Checks each response handed over by `takeResponses(with:)` against the workload, in order.
private struct ResponseChecker: ResponseHandler {
    var next: UInt64
    let abi: ABI
    var mismatch: RingMismatch?

    init(next: UInt64, abi: ABI) {
        self.next = next
        self.abi = abi
    }

    func entries(answeredBy response: Response) -> Int { WorkloadRequest(next).entries(abi: abi) }

    mutating func handle(_ response: Response) -> Bool {
        do throws(RingMismatch) {
            try WorkloadRequest(next).check(response)
        } catch {
            mismatch = error
            return false
        }
        next += 1
        return true
    }
}

/// Runs the workload through our ``BackRing``: copies and decodes every request, checks every
/// field in order, answers it, publishes, and idles only after `finalCheckForRequests()`. Outside
/// lock-step runs, rounds alternate between `takeRequest()` with `writeResponse(_:entries:)` and
/// `serveRequests(with:limit:)`, so both are proven against the peer.
struct BackDriver: ~Copyable {
    var ring: BackRing
    var pacing: RingPacing
    let count: UInt64
    /// Lock-step batch size (arms `req_event` before publishing responses), 0 for none.
    let batch: Int
    private var answered: UInt64 = 0
    private var rounds = 0

    init(ring: consuming BackRing, pacing: RingPacing, count: Int, batch: Int) {
        self.ring = ring
        self.pacing = pacing
        self.count = UInt64(count)
        self.batch = batch
    }

    mutating func run() throws {
        while answered < count {
            pacing.maybeDelay()
            rounds += 1
            if batch == 0, rounds % 2 == 0 {
                let served = try serveBatch()
                if served.count > 0 {
                    if served.notify == .notifyPeer { pacing.notify() }
                    continue
                }
            } else if try serve() > 0 {
                if batch > 0 { _ = try ring.finalCheckForRequests() }  // lock-step: arm before publishing
                if ring.pushResponses() == .notifyPeer { pacing.notify() }
                continue
            }
            if try !ring.finalCheckForRequests() { try pacing.idle() }
        }
    }

    private mutating func serve() throws -> Int {
        var got = 0
        while answered < count, let copy = try ring.takeRequest() {
            let expected = WorkloadRequest(answered)
            guard copy.entryCount == expected.entries(abi: copy.abi) else {
                throw RingMismatch(description: "request \(answered): spans \(copy.entryCount) entries, expected \(expected.entries(abi: copy.abi))")
            }
            try expected.check(copy.decode())
            let header = copy.header
            ring.writeResponse(Response(id: header.id, operation: header.operation, status: expected.status), entries: copy.entryCount)
            answered += 1
            got += 1
        }
        return got
    }

    /// Serves, answers and publishes the published requests with `serveRequests(with:limit:)`:
    /// every one, or (one round in three) at most a few, leaving the rest for the next round.
    private mutating func serveBatch() throws -> ServedRequests {
        var checker = RequestChecker(next: answered)
        let served = try ring.serveRequests(with: &checker, limit: rounds % 3 == 0 ? 1 + rounds % 4 : .max)
        if let mismatch = checker.mismatch { throw mismatch }
        answered = checker.next
        return served
    }
}

/// Checks each request handed over by `serveRequests(with:limit:)` against the workload, in order,
/// and answers it with the workload's status.
private struct RequestChecker: RequestResponder {
    var next: UInt64
    var mismatch: Error?

    init(next: UInt64) { self.next = next }

    mutating func respond(to copy: RequestCopy) -> Status {
        let expected = WorkloadRequest(next)
        next += 1
        guard mismatch == nil else { return expected.status }
        do {
            guard copy.entryCount == expected.entries(abi: copy.abi) else {
                throw RingMismatch(
                    description: "request \(expected.index): spans \(copy.entryCount) entries, expected \(expected.entries(abi: copy.abi))")
            }
            try expected.check(copy.decode())
        } catch {
            mismatch = error
        }
        return expected.status
    }
}
