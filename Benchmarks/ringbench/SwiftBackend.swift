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

    /// Serve, push (notify when told); in event mode sleep after a final check when idle.
    @inline(__always)
    static func loop(_ back: inout BackRing, _ channel: inout FutexEventChannel, _ context: RunContext) {
        let total = context.requests, event = context.mode == .event
        var consumed = 0
        while consumed < total {
            let served = serve(&back, consumed: consumed, context)
            guard served >= 0, !context.failed else { return }
            consumed += served
            if served > 0 {
                if back.pushResponses() == .notifyPeer, event { channel.notify() }
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

    /// Copies out, decodes, checks and answers the requests published when it looks; returns how
    /// many, or -1.
    @inline(__always)
    static func serve(_ back: inout BackRing, consumed: Int, _ context: RunContext) -> Int {
        var next = consumed
        do {
            // One batch: the requests published when we looked (as blkback does), then push.
            var entries = try back.pendingRequests()
            while entries > 0, let copy = try back.takeRequest() {
                entries -= copy.entryCount
                let request: BlkifRequest
                do { request = try copy.decode() } catch {
                    context.fail(request: next, "decode: \(error)")
                    return -1
                }
                guard W.matches(request, next) else {
                    context.fail(request: next, "request \(copy.header.id) is not request \(next) of the workload")
                    return -1
                }
                back.writeResponse(Response(id: request.id, operation: request.operation, status: .okay), entries: copy.entryCount)
                next += 1
            }
        } catch {
            context.fail(request: next, "request ring: \(error)")
            return -1
        }
        return next - consumed
    }
}
