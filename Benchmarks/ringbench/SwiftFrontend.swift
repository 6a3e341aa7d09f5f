// Our frontend: fills the ring, publishes, takes and checks every response.

import BlkifABI
import BlkifRing
import CRingBenchSupport

/// The producer thread of a Swift run, specialised over the workload and the ABI.
enum SwiftFrontend<W: WorkloadShape, A: ABIChoice> {
    /// Runs the producer to the last response (or the first failed check).
    static func run(_ context: RunContext) {
        var front: FrontRing
        do { front = try FrontRing(attachingTo: context.ring, geometry: context.geometry) } catch {
            return context.fail(request: 0, "front attach: \(error)")
        }
        var channel = FutexEventChannel(words: context.events, side: .front)
        context.startLine()
        let allocationsBefore = alloc_counter_total()
        let start = monotonicNanoseconds()
        let answered = loop(&front, &channel, context)
        context.elapsedNanoseconds = monotonicNanoseconds() - start
        context.allocations = alloc_counter_total() - allocationsBefore
        context.frontNotifications = channel.notificationsSent
        _ = answered
    }

    /// The timed loop: fill, push (notify when told), drain; sleep after a final check in
    /// event mode when there was nothing to do.
    @inline(__always)
    static func loop(_ front: inout FrontRing, _ channel: inout FutexEventChannel, _ context: RunContext) -> Int {
        let total = context.requests, event = context.mode == .event
        var sent = 0, answered = 0
        var sampler = Sampler(context)
        defer { context.sampleCount = sampler.count }
        while answered < total {
            let batch = fill(&front, from: sent, total: total, headroom: context.headroom)
            if batch > 0 {
                let decision = front.pushRequests()
                sampler.stamp(from: sent, to: sent + batch)
                sent += batch
                if event, decision == .notifyPeer { channel.notify() }
            }
            let taken = drain(&front, answered: answered, &sampler, context)
            guard taken >= 0, !context.failed else { break }
            answered += taken
            if batch > 0 || taken > 0 || answered == total { continue }
            if event {
                do {
                    if try !front.finalCheckForResponses() { _ = channel.wait(timeout: .milliseconds(100)) }
                } catch {
                    context.fail(request: answered, "final check: \(error)")
                    break
                }
            } else {
                ringbench_cpu_relax()
            }
        }
        return answered
    }

    /// Writes as many requests as the ring has room for beside `headroom` free entries; returns
    /// how many.
    @inline(__always)
    static func fill(_ front: inout FrontRing, from sent: Int, total: Int, headroom: Int) -> Int {
        var next = sent
        while next < total {
            let entries = W.entries(next, abi: A.abi)
            guard front.freeRequests >= entries &+ headroom, let run = front.reserveRequest(entries: entries) else { break }
            W.write(next, into: run)
            next += 1
        }
        return next - sent
    }

    /// Takes and checks the responses published when it looks (one batch, as the C reference's
    /// drain); returns how many, or -1 after a failed check.
    @inline(__always)
    static func drain(_ front: inout FrontRing, answered: Int, _ sampler: inout Sampler, _ context: RunContext) -> Int {
        var checker = ResponseChecker<W, A>(next: answered, sampler: sampler, context: context)
        defer { sampler = checker.sampler }
        do {
            _ = try front.takeResponses(with: &checker)
        } catch {
            context.fail(request: checker.next, "response ring: \(error)")
            return -1
        }
        return checker.failed ? -1 : checker.next - answered
    }
}

/// The frontend's check of each response: it answers request `next` (responses come in order),
/// with its operation and OKAY; every sampled request's round trip is recorded.
struct ResponseChecker<W: WorkloadShape, A: ABIChoice>: ResponseHandler {
    /// The request the next response must answer.
    var next: Int
    /// Latency bookkeeping, carried through the batch.
    var sampler: Sampler
    /// Whether a check failed (the batch stopped there).
    private(set) var failed = false
    /// Where a failed check is recorded; the run outlives every batch.
    let context: Unmanaged<RunContext>

    init(next: Int, sampler: Sampler, context: RunContext) {
        self.next = next
        self.sampler = sampler
        self.context = .passUnretained(context)
    }

    /// The entries of request `next`, which this response must answer (if it answers another,
    /// the check fails on it).
    @inline(__always)
    func entries(answeredBy response: Response) -> Int { W.entries(next, abi: A.abi) }

    @inline(__always)
    mutating func handle(_ response: Response) -> Bool {
        let i = next
        guard response.id.rawValue == UInt64(truncatingIfNeeded: i), response.operation == W.operation(i), response.status == .okay else {
            mismatch(response, expected: i)
            failed = true
            return false
        }
        sampler.answered(i)
        next = i &+ 1
        return true
    }

    /// Records that `response` does not answer request `i` (cold path).
    @inline(never)
    func mismatch(_ response: Response, expected i: Int) {
        context.takeUnretainedValue().fail(
            request: i, "response \(response.id) \(response.operation) \(response.status), expected id \(i) \(W.operation(i)) okay")
    }
}

/// The producer's latency bookkeeping, held in locals of the timed loop (nothing the consumer
/// reads shares a cache line with it).
struct Sampler {
    let every: Int
    let stamps: UnsafeMutablePointer<UInt64>
    let samples: UnsafeMutableBufferPointer<UInt64>
    private(set) var count = 0

    init(_ context: RunContext) {
        every = context.sampleEvery
        stamps = context.stamps
        samples = context.samples
    }

    /// Notes the push time of every sampled request in `from..<to`.
    @inline(__always)
    func stamp(from: Int, to: Int) {
        var id = (from + every - 1) & ~(every - 1)
        guard id < to else { return }
        let now = monotonicNanoseconds()
        while id < to {
            stamps[id & (RunContext.stampSlots - 1)] = now
            id += every
        }
    }

    /// Records the round trip of request `id` if it is sampled.
    @inline(__always)
    mutating func answered(_ id: Int) {
        guard id & (every &- 1) == 0, count < samples.count else { return }
        samples[count] = monotonicNanoseconds() - stamps[id & (RunContext.stampSlots - 1)]
        count += 1
    }
}
