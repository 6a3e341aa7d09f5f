// `blkif attach bench`: random I/O at a fixed queue depth through frontend, ring and backend.

import ArgumentParser
import BlkFront
import CRingBenchSupport
import Foundation
import Synchronization

/// The access pattern of a benchmark.
enum AccessPattern: String, ExpressibleByArgument, CaseIterable {
    case randread, randwrite, rw

    /// fio's name for the same pattern.
    var fioName: String { self == .rw ? "randrw" : rawValue }
}

/// How the benchmark issues its I/O.
enum BenchEngine: String, ExpressibleByArgument, CaseIterable {
    /// One thread per queue through `PolledQueue`: submit and reap, no task hops.
    case polled
    /// `--qd` tasks calling the async `read`/`write`.
    case tasks
}

/// `blkif attach bench`.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Random I/O at a fixed queue depth: a live progress line, then IOPS, MB/s and latency percentiles.")

    @OptionGroup var frontend: FrontendSelection

    @Option(help: "randread, randwrite or rw (half reads, half writes).")
    var rw: AccessPattern = .randread

    @Option(help: "Bytes per I/O (e.g. 4k).")
    var bs = ByteSize(bytes: 4096)

    @Option(help: "I/Os in flight (tasks issuing), spread over the queues.")
    var qd = 32

    @Option(help: "Seconds to run, after a one-second warm-up.")
    var seconds = 5

    @Option(help: "polled (one thread per queue submitting and reaping) or tasks (--qd tasks awaiting read/write).")
    var engine: BenchEngine = .polled

    @Option(help: "Seed of the offsets.")
    var seed: UInt64 = 1

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Flag(help: "Then run fio's psync and io_uring engines on the served image for as long, and print the ratio.")
    var compareFio = false

    @Option(help: "The file fio reads (default: the backend's params node).")
    var fioFile: String?

    func validate() throws {
        guard bs.bytes % 512 == 0 else { throw ValidationError("--bs \(bs): expected a multiple of 512") }
        guard (1...4096).contains(qd) else { throw ValidationError("--qd \(qd): expected 1...4096") }
        guard (1...3600).contains(seconds) else { throw ValidationError("--seconds \(seconds): expected 1...3600") }
    }

    func run() async throws {
        let attached = try frontend.attach()
        let result: BenchResult
        do {
            guard attached.device.capacity >= UInt64(bs.bytes) else {
                throw ValidationError("the disk (\(attached.device.capacity) bytes) is smaller than --bs \(bs)")
            }
            if !json { print(attached.summary) }
            let run = BenchRun(device: attached.device, pattern: rw, blockSize: bs.bytes, depth: qd, seed: seed)
            switch engine {
            case .polled:
                guard bs.bytes <= attached.device.maximumRequestBytes else {
                    throw ValidationError("--bs \(bs) is more than one request carries (\(attached.device.maximumRequestBytes)); use --engine tasks")
                }
                result = try run.runPolled(seconds: seconds, progress: !json)
            case .tasks:
                result = try await run.run(seconds: seconds, progress: !json)
            }
        } catch {
            attached.close()
            throw error
        }
        let image = fioFile ?? attached.backendParams()
        attached.close()
        var comparison: FioComparison?
        if compareFio {
            guard let image else { throw ValidationError("--compare-fio: the backend publishes no params node; pass --fio-file") }
            comparison = try FioComparison.run(file: image, pattern: rw, blockSize: bs.bytes, depth: qd, seconds: seconds, ours: result.iops)
        }
        if json {
            print(result.json(comparison: comparison))
        } else {
            print(result.text)
            if let comparison { print(comparison.text) }
        }
    }
}

/// What a benchmark measured.
struct BenchResult {
    let pattern: AccessPattern
    let blockSize: Int
    let depth: Int
    let engine: BenchEngine
    let operations: UInt64
    let elapsed: Duration
    let latency: LatencyHistogram
    /// Heap allocations of this process per I/O during the measured window.
    let allocationsPerRequest: Double

    var seconds: Double { Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 }
    var iops: Double { Double(operations) / seconds }
    var megabytesPerSecond: Double { iops * Double(blockSize) / 1e6 }

    private func micros(_ fraction: Double) -> Double { Double(latency.percentile(fraction)) / 1000 }

    var text: String {
        String(format: "%@ bs=%d qd=%d (%@): %.0f IOPS, %.1f MB/s, latency p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs; %.3f allocations per I/O (frontend)",
               pattern.rawValue, blockSize, depth, engine.rawValue, iops, megabytesPerSecond, micros(0.5), micros(0.99), micros(0.999), allocationsPerRequest)
    }

    func json(comparison: FioComparison?) -> String {
        var fields = [
            "\"rw\": \"\(pattern.rawValue)\"", "\"engine\": \"\(engine.rawValue)\"", "\"bs\": \(blockSize)", "\"qd\": \(depth)", "\"operations\": \(operations)",
            String(format: "\"seconds\": %.3f", seconds), String(format: "\"iops\": %.0f", iops),
            String(format: "\"mb_per_s\": %.2f", megabytesPerSecond), String(format: "\"p50_us\": %.2f", micros(0.5)),
            String(format: "\"p99_us\": %.2f", micros(0.99)), String(format: "\"p999_us\": %.2f", micros(0.999)),
            String(format: "\"allocations_per_io\": %.4f", allocationsPerRequest),
        ]
        if let comparison { fields += comparison.jsonFields }
        return "{" + fields.joined(separator: ", ") + "}"
    }
}

/// One benchmark run: `depth` tasks issue I/O back to back at random aligned offsets.
struct BenchRun: Sendable {
    let device: BlockDevice
    let pattern: AccessPattern
    let blockSize: Int
    let depth: Int
    let seed: UInt64

    func run(seconds: Int, progress: Bool) async throws -> BenchResult {
        let counters = BenchCounters()
        let start = ContinuousClock.now
        let measureFrom = start + .seconds(1), end = measureFrom + .seconds(seconds)
        let histogram = try await withThrowingTaskGroup(of: LatencyHistogram.self) { group in
            for worker in 0..<depth {
                group.addTask { try await work(worker: worker, measureFrom: measureFrom, until: end, counters: counters) }
            }
            group.addTask {
                try await Task.sleep(until: measureFrom, clock: .continuous)
                counters.allocationsAtStart.store(alloc_counter_total(), ordering: .relaxed)
                counters.countedAtStart.store(counters.completed.load(ordering: .relaxed), ordering: .relaxed)
                if progress { await report(counters: counters, from: measureFrom, until: end) }
                return LatencyHistogram()
            }
            var merged = LatencyHistogram()
            for try await part in group { merged.merge(part) }
            return merged
        }
        let allocations = alloc_counter_total() &- counters.allocationsAtStart.load(ordering: .relaxed)
        let measured = counters.completed.load(ordering: .relaxed) - counters.countedAtStart.load(ordering: .relaxed)
        if progress { FileHandle.standardError.write(Data("\n".utf8)) }
        return BenchResult(pattern: pattern, blockSize: blockSize, depth: depth, engine: .tasks, operations: histogram.total,
                           elapsed: ContinuousClock.now - measureFrom, latency: histogram,
                           allocationsPerRequest: measured > 0 ? Double(allocations) / Double(measured) : 0)
    }

    /// One issuer: its own buffer and random stream; latencies recorded after the warm-up.
    private func work(worker: Int, measureFrom: ContinuousClock.Instant, until end: ContinuousClock.Instant,
                      counters: BenchCounters) async throws -> LatencyHistogram {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        defer { buffer.deallocate() }
        for index in 0..<blockSize { buffer[index] = UInt8(truncatingIfNeeded: index &* 31 &+ worker) }
        var random = SplitMix(seed: seed &+ UInt64(worker) &* 0x9E37_79B9)
        var histogram = LatencyHistogram()
        let blocks = device.capacity / UInt64(blockSize)
        while true {
            let began = ContinuousClock.now
            guard began < end else { break }
            let offset = random.next(below: blocks) * UInt64(blockSize)
            let write = pattern == .randwrite || (pattern == .rw && random.next(below: 2) == 1)
            if write {
                try await device.write(from: UnsafeRawBufferPointer(buffer), at: offset)
            } else {
                try await device.read(into: buffer, at: offset)
            }
            let finished = ContinuousClock.now
            if began >= measureFrom {
                let (seconds, attoseconds) = (finished - began).components
                histogram.record(nanoseconds: UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
            }
            counters.completed.add(1, ordering: .relaxed)
        }
        return histogram
    }

    /// Prints a progress line on standard error each second.
    private func report(counters: BenchCounters, from start: ContinuousClock.Instant, until end: ContinuousClock.Instant) async {
        var last = counters.completed.load(ordering: .relaxed)
        var tick = start
        while tick < end {
            tick = min(tick + .seconds(1), end)
            try? await Task.sleep(until: tick, clock: .continuous)
            let now = counters.completed.load(ordering: .relaxed)
            let elapsed = start.duration(to: tick).components.seconds
            let line = String(format: "\r  %3lds  %8d IOPS  %8.1f MB/s", elapsed, now - last, Double(now - last) * Double(blockSize) / 1e6)
            FileHandle.standardError.write(Data(line.utf8))
            last = now
        }
    }
}

/// What the issuers and the reporter share.
final class BenchCounters: Sendable {
    /// I/Os completed since the start (warm-up included).
    let completed = Atomic<Int>(0)
    /// The process's heap allocations when the measured window began.
    let allocationsAtStart = Atomic<UInt64>(0)
    /// ``completed`` when the measured window began.
    let countedAtStart = Atomic<Int>(0)
}

/// SplitMix64: a small seeded generator.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0).
    mutating func next(below bound: UInt64) -> UInt64 { next() % bound }
}
