// Serial mode: one thread plays both of our ends in turn.

import BlkifABI
import BlkifRing
import CRingBenchSupport

/// Our frontend and backend on one thread: fill, publish, serve, publish, take, until every
/// request is answered. The same fill, serve and drain as the two-thread run, so a row compares
/// the CPU cost of each ring's code with no waiting and no cache line crossing cores.
enum SwiftSerial<W: WorkloadShape, A: ABIChoice> {
    /// Runs both ends to the last response (or the first failed check).
    static func run(_ context: RunContext) {
        var front: FrontRing
        var back: BackRing
        do {
            front = try FrontRing(attachingTo: context.ring, geometry: context.geometry)
            back = try BackRing(attachingTo: context.ring, geometry: context.geometry,
                                limits: RequestLimits(maximumSegments: ABI.maximumBlockSegments))
        } catch {
            return context.fail(request: 0, "attach: \(error)")
        }
        let allocationsBefore = alloc_counter_total()
        let start = monotonicNanoseconds()
        loop(&front, &back, context)
        context.elapsedNanoseconds = monotonicNanoseconds() - start
        context.allocations = alloc_counter_total() - allocationsBefore
    }

    /// The timed loop.
    @inline(__always)
    static func loop(_ front: inout FrontRing, _ back: inout BackRing, _ context: RunContext) {
        let total = context.requests
        var sent = 0, consumed = 0, answered = 0
        var sampler = Sampler(context)
        defer { context.sampleCount = sampler.count }
        while answered < total {
            let batch = SwiftFrontend<W, A>.fill(&front, from: sent, total: total, headroom: context.headroom)
            _ = front.pushRequests()  // nobody to wake: this thread serves next
            sampler.stamp(from: sent, to: sent + batch)
            sent += batch
            guard let served = SwiftBackend<W, A>.serve(&back, consumed: consumed, context) else { return }
            consumed += served.count
            let taken = SwiftFrontend<W, A>.drain(&front, answered: answered, &sampler, context)
            guard taken >= 0, !context.failed else { return }
            answered += taken
        }
    }
}
