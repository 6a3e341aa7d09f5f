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
        while answered < total {
            let batch = fill(&front, from: sent, total: total)
            if batch > 0 {
                let decision = front.pushRequests()
                stamp(context, from: sent, to: sent + batch)
                sent += batch
                if event, decision == .notifyPeer { channel.notify() }
            }
            let taken = drain(&front, answered: answered, context)
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

    /// Writes as many requests as the ring has room for; returns how many.
    @inline(__always)
    static func fill(_ front: inout FrontRing, from sent: Int, total: Int) -> Int {
        var next = sent
        while next < total, let run = front.reserveRequest(entries: W.entries(next, abi: A.abi)) {
            W.write(next, into: run)
            next += 1
        }
        return next - sent
    }

    /// Notes the push time of every sampled request in `from..<to`.
    @inline(__always)
    static func stamp(_ context: RunContext, from: Int, to: Int) {
        let every = context.sampleEvery, now = monotonicNanoseconds()
        var id = (from + every - 1) & ~(every - 1)
        while id < to {
            context.stamps[id & (RunContext.stampSlots - 1)] = now
            id += every
        }
    }

    /// Takes and checks every published response; returns how many, or -1 after a failed check.
    @inline(__always)
    static func drain(_ front: inout FrontRing, answered: Int, _ context: RunContext) -> Int {
        var next = answered
        do {
            while let response = try front.takeResponse(entries: { W.entries(Int(truncatingIfNeeded: $0.id.rawValue), abi: A.abi) }) {
                guard check(response, next, context) else { return -1 }
                if next & (context.sampleEvery - 1) == 0, context.sampleCount < context.samples.count {
                    context.samples[context.sampleCount] = monotonicNanoseconds() - context.stamps[next & (RunContext.stampSlots - 1)]
                    context.sampleCount += 1
                }
                next += 1
            }
        } catch {
            context.fail(request: next, "response ring: \(error)")
            return -1
        }
        return next - answered
    }

    /// Whether `response` answers request `i` (in order) with its operation and OKAY.
    @inline(__always)
    static func check(_ response: Response, _ i: Int, _ context: RunContext) -> Bool {
        if response.id.rawValue == UInt64(i), response.operation == W.operation(i), response.status == .okay { return true }
        context.fail(request: i, "response \(response.id) \(response.operation) \(response.status), expected id \(i) \(W.operation(i)) okay")
        return false
    }
}
