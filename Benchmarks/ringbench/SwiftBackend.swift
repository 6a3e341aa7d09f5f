// Our backend: copies each request out once, decodes and checks it, answers OKAY.

import BlkifABI
import BlkifRing
import CRingBenchSupport

/// The consumer thread of a Swift run, specialised over the workload and the ABI.
enum SwiftBackend<W: WorkloadShape, A: ABIChoice> {
    /// Runs the consumer until every request is answered (or a check fails).
    static func run(_ context: RunContext) {
        var back: BackRing
        do {
            back = try BackRing(attachingTo: context.ring, geometry: context.geometry,
                                limits: RequestLimits(maximumSegments: ABI.maximumBlockSegments))
        } catch {
            return context.fail(request: 0, "back attach: \(error)")
        }
        var channel = FutexEventChannel(words: context.events, side: .back)
        context.startLine()
        loop(&back, &channel, context)
        context.backNotifications = channel.notificationsSent
    }

    /// Serve and publish (notify when told); in event mode sleep after a final check when idle.
    @inline(__always)
    static func loop(_ back: inout BackRing, _ channel: inout FutexEventChannel, _ context: RunContext) {
        let total = context.requests, event = context.mode == .event
        var consumed = 0
        while consumed < total {
            let served = serve(&back, consumed: consumed, context)
            guard let served, !context.failed else { return }
            consumed += served.count
            if served.count > 0 {
                if served.notify == .notifyPeer, event { channel.notify() }
                continue
            }
            if event {
                do {
                    if try !back.finalCheckForRequests() { _ = channel.wait(timeout: .milliseconds(100)) }
                } catch {
                    return context.fail(request: consumed, "final check: \(error)")
                }
            } else {
                ringbench_cpu_relax()
            }
        }
    }

    /// Serves the requests published when it looks, or the run's `--push-every` of them (as
    /// blkback does: copy out, decode, check, answer, then publish); `nil` after a failed check.
    @inline(__always)
    static func serve(_ back: inout BackRing, consumed: Int, _ context: RunContext) -> ServedRequests? {
        var checker = WorkloadChecker<W>(next: consumed, context: context)
        let served: ServedRequests
        do {
            served = try back.serveRequests(with: &checker, limit: context.responseLimit)
        } catch {
            context.fail(request: checker.next, "request ring: \(error)")
            return nil
        }
        return context.failed ? nil : served
    }
}

/// The backend's check: each request decodes to request `next` of the workload; answers OKAY,
/// or an error after recording the mismatch in the run's context (as the C reference's `fail`).
///
/// Its state is the request number and an unretained reference to the context, so that the
/// ring's loop keeps it in a register; the mismatch is reported out of line.
struct WorkloadChecker<W: WorkloadShape>: RequestResponder {
    /// The workload number of the next request.
    var next: Int
    /// Where a mismatch is recorded; the run outlives every batch.
    let context: Unmanaged<RunContext>

    init(next: Int, context: RunContext) {
        self.next = next
        self.context = .passUnretained(context)
    }

    @inline(__always)
    mutating func respond(to request: RequestCopy) -> Status {
        let i = next
        next &+= 1
        do throws(RequestError) {
            if W.matches(try request.decode(), i) { return .okay }
            mismatch(request: i, id: request.header.id, error: nil)
        } catch {
            mismatch(request: i, id: request.header.id, error: error)
        }
        return .error
    }

    /// Records that request `i` arrived as `id`, or did not decode (cold path).
    @inline(never)
    func mismatch(request i: Int, id: RequestID, error: RequestError?) {
        let run = context.takeUnretainedValue()
        if let error {
            run.fail(request: i, "decode: \(error)")
        } else {
            run.fail(request: i, "request \(id) is not request \(i) of the workload")
        }
    }
}
