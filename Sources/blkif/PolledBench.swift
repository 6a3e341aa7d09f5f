// `blkif attach bench --engine polled`: one thread per queue submitting and reaping through
// BlkFront's PolledQueue — the ring's own cost, without Swift concurrency's task hops.

import BlkFront
import BlkifABI
import CRingBenchSupport
import Foundation
import Synchronization

extension BenchRun {
    /// Runs the benchmark with one thread per queue, each keeping `depth / queues` I/Os in flight.
    func runPolled(seconds: Int, progress: Bool) throws -> BenchResult {
        let counters = BenchCounters()
        let queues = device.connection.queues.count
        let start = ContinuousClock.now
        let measureFrom = start + .seconds(1), end = measureFrom + .seconds(seconds)
        let results = Mutex<[Result<LatencyHistogram, BlockDeviceError>]>([])
        let done = DispatchSemaphore(value: 0)
        for queue in 0..<queues {
            let share = max(1, depth / queues + (queue < depth % queues ? 1 : 0))
            Thread.detachNewThread {
                let outcome = Result { () throws(BlockDeviceError) in
                    try pollQueue(queue, depth: share, measureFrom: measureFrom, until: end, counters: counters)
                }
                results.withLock { $0.append(outcome) }
                done.signal()
            }
        }
        // Each second until every thread is done (early, if the device fails): the first tick
        // starts the measured window, the later ones print the progress line.
        var finished = 0, last = 0, measuring = false
        var tick = measureFrom
        while finished < queues {
            let wait = ContinuousClock.now.duration(to: tick)
            if wait > .zero, done.wait(timeout: .now() + .nanoseconds(Int(wait / .nanoseconds(1)))) == .success {
                finished += 1
                continue
            }
            let now = counters.completed.load(ordering: .relaxed)
            if !measuring {
                measuring = true
                counters.allocationsAtStart.store(alloc_counter_total(), ordering: .relaxed)
                counters.countedAtStart.store(now, ordering: .relaxed)
            } else if progress {
                let line = String(format: "\r  %3lds  %8d IOPS  %8.1f MB/s", measureFrom.duration(to: tick).components.seconds, now - last,
                                  Double(now - last) * Double(blockSize) / 1e6)
                FileHandle.standardError.write(Data(line.utf8))
            }
            last = now
            tick += .seconds(1)
        }
        let allocations = alloc_counter_total() &- counters.allocationsAtStart.load(ordering: .relaxed)
        let measured = counters.completed.load(ordering: .relaxed) - counters.countedAtStart.load(ordering: .relaxed)
        if progress { FileHandle.standardError.write(Data("\n".utf8)) }
        var merged = LatencyHistogram()
        for outcome in results.withLock({ $0 }) { merged.merge(try outcome.get()) }
        return BenchResult(pattern: pattern, blockSize: blockSize, depth: depth, engine: .polled, operations: merged.total,
                           elapsed: ContinuousClock.now - measureFrom, latency: merged,
                           allocationsPerRequest: measured > 0 ? Double(allocations) / Double(measured) : 0)
    }

    /// One thread's loop on queue `index`: keep `depth` I/Os in flight until `end`, then drain.
    private func pollQueue(_ index: Int, depth: Int, measureFrom: ContinuousClock.Instant, until end: ContinuousClock.Instant,
                           counters: BenchCounters) throws(BlockDeviceError) -> LatencyHistogram {
        let queue = device.polledQueue(index)
        defer { queue.close() }
        let depth = min(depth, queue.depth)
        let buffers = UnsafeMutableRawBufferPointer.allocate(byteCount: depth * blockSize, alignment: 4096)
        defer { buffers.deallocate() }
        for byte in 0..<buffers.count { buffers[byte] = UInt8(truncatingIfNeeded: byte &* 31 &+ index) }
        let started = UnsafeMutableBufferPointer<ContinuousClock.Instant>.allocate(capacity: depth)
        defer { started.deallocate() }
        let completions = UnsafeMutableBufferPointer<PolledCompletion>.allocate(capacity: depth)
        defer { completions.deallocate() }
        var random = SplitMix(seed: seed &+ UInt64(index) &* 0x9E37_79B9)
        var histogram = LatencyHistogram()
        let blocks = device.capacity / UInt64(blockSize)
        var outstanding = 0

        func submit(_ tag: Int) throws(BlockDeviceError) {
            let buffer = UnsafeMutableRawBufferPointer(rebasing: buffers[tag * blockSize..<(tag + 1) * blockSize])
            let offset = random.next(below: blocks) * UInt64(blockSize)
            let write = pattern == .randwrite || (pattern == .rw && random.next(below: 2) == 1)
            started[tag] = .now
            let issued = write ? try queue.submitWrite(from: UnsafeRawBufferPointer(buffer), at: offset, tag: UInt64(tag))
                               : try queue.submitRead(into: buffer, at: offset, tag: UInt64(tag))
            precondition(issued, "a tag is submitted only when its previous I/O was reaped")
            outstanding += 1
        }

        for tag in 0..<depth { try submit(tag) }
        while outstanding > 0 {
            let reaped = try queue.reap(into: completions, waitingUpTo: .milliseconds(100))
            let now = ContinuousClock.now
            for completion in completions.prefix(reaped) {
                outstanding -= 1
                let tag = Int(completion.tag)
                guard completion.status == .okay else { throw .rejected(pattern == .randread ? .read : .write, status: completion.status) }
                if started[tag] >= measureFrom {
                    let (seconds, attoseconds) = (now - started[tag]).components
                    histogram.record(nanoseconds: UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
                }
                counters.completed.add(1, ordering: .relaxed)
                if now < end { try submit(tag) }
            }
        }
        return histogram
    }
}
