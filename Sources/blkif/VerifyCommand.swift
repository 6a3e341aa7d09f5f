// `blkif attach verify`: a seeded pattern written and read back, then random operations
// checked against a model of the disk.

import ArgumentParser
import BlkFront
import Foundation

/// `blkif attach verify`.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a seeded pattern and read it back, then random reads, writes, barriers, flushes and discards, checked against a model.")

    @OptionGroup var frontend: FrontendSelection

    @Option(help: "Seed of the pattern, the offsets, sizes and operations (printed on failure).")
    var seed: UInt64 = 1

    @Option(help: "Random operations after the pattern pass (0: the pattern only).")
    var operations = 200

    @Option(help: "Concurrent issuers, each on its own part of the disk.")
    var workers = 4

    @Option(help: "Largest I/O of the random operations (e.g. 1m).")
    var maxSize = ByteSize(bytes: 1 << 20)

    @Option(help: "Bytes of the disk to use from its start (default: all of it, at most 256m).")
    var span: ByteSize?

    func validate() throws {
        guard (1...64).contains(workers) else { throw ValidationError("--workers \(workers): expected 1...64") }
        guard maxSize.bytes % 512 == 0 else { throw ValidationError("--max-size \(maxSize): expected a multiple of 512") }
        guard operations >= 0 else { throw ValidationError("--operations \(operations): expected 0 or more") }
    }

    func run() async throws {
        let attached = try frontend.attach()
        defer { attached.close() }
        print(attached.summary)
        let device = attached.device
        let bytes = Int(min(device.capacity, UInt64(span?.bytes ?? 256 << 20))) / 512 * 512
        guard bytes >= workers * 512 else { throw ValidationError("the disk (\(device.capacity) bytes) is too small for \(workers) workers") }
        let model = DiskModel(byteCount: bytes)
        defer { model.deallocate() }
        let started = ContinuousClock.now
        do {
            try await model.writePattern(to: device, seed: seed, workers: workers)
            try await model.compareAll(with: device, workers: workers, stage: "the pattern")
            print("verify: \(bytes / 1_048_576) MiB pattern (seed \(seed)) written and read back identical")
            guard operations > 0 else { return }
            let tally = try await model.randomOperations(on: device, count: operations, workers: workers, maxSize: maxSize.bytes, seed: seed)
            try await model.compareAll(with: device, workers: workers, stage: "the random operations")
            print("verify: \(tally) over \(workers) workers, then the whole disk read back identical (\(ContinuousClock.now - started))")
        } catch {
            throw ValidationError("verify failed (seed \(seed)): \(error)")
        }
    }
}
