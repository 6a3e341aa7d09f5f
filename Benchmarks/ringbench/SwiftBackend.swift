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

    /// Serves the requests published when it looks (as blkback does: copy out, decode, check,
    /// answer, then publish the batch); `nil` after a failed check.
    @inline(__always)
    static func serve(_ back: inout BackRing, consumed: Int, _ context: RunContext) -> ServedRequests? {
        var checker = WorkloadChecker<W>(next: consumed)
        let served: ServedRequests
        do {
            served = try back.serveRequests(with: &checker)
        } catch {
            context.fail(request: checker.next, "request ring: \(error)")
            return nil
        }
        if let (request, id, error) = checker.firstMismatch {
            if let error {
                context.fail(request: request, "decode: \(error)")
            } else {
                context.fail(request: request, "request \(id) is not request \(request) of the workload")
            }
            return nil
        }
        return served
    }
}

/// The backend's check: each request decodes to request `next` of the workload; answers OKAY,
/// or an error after noting the first mismatch (reported after the batch, so the answer stays
/// small and inlined).
struct WorkloadChecker<W: WorkloadShape>: RequestResponder {
    /// The workload number of the next request.
    var next: Int
    /// The first request that did not match, its id, and the decoding error if there was one.
    var firstMismatch: (request: Int, id: RequestID, error: RequestError?)?

    init(next: Int) { self.next = next }

    @inline(__always)
    mutating func respond(to request: RequestCopy) -> Status {
        let matches: Bool
        var failure: RequestError?
        do throws(RequestError) {
            matches = W.matches(try request.decode(), next)
        } catch {
            matches = false
            failure = error
        }
        if !matches, firstMismatch == nil { firstMismatch = (next, request.header.id, failure) }
        next &+= 1
        return matches ? .okay : .error
    }
}
