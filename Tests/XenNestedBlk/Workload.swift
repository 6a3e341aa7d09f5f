// The frontend's checks over an attached device: pattern, random reads and writes, flush,
// discard, each checked byte for byte against what was written.

import BlkFront

/// A seeded workload over the first `blocks` 4 KiB blocks of `device`.
struct Workload {
    let device: BlockDevice
    let seed: UInt64
    let blocks: Int
    /// How many random writes each block has had (0: it holds the pattern).
    private var generation: [UInt32]

    /// Why a check failed.
    struct Mismatch: Error, CustomStringConvertible {
        let block: Int
        let phase: String
        var description: String { "\(phase): block \(block) differs from what was written" }
    }

    init(device: BlockDevice, seed: UInt64, blocks: Int) {
        self.device = device
        self.seed = seed
        self.blocks = blocks
        generation = Array(repeating: 0, count: blocks)
    }

    static let blockSize = 4096

    /// splitmix64's finaliser.
    private static func mix(_ value: UInt64) -> UInt64 {
        var x = value &+ 0x9e37_79b9_7f4a_7c15
        x = (x ^ (x >> 30)) &* 0xbf58_476d_1ce4_e5b9
        x = (x ^ (x >> 27)) &* 0x94d0_49bb_1331_11eb
        return x ^ (x >> 31)
    }

    /// The content of `block` after `generation` random writes.
    private func content(of block: Int, generation: UInt32) -> [UInt64] {
        let key = seed ^ Self.mix(UInt64(block) &* 8191 &+ UInt64(generation))
        return (0..<(Self.blockSize / 8)).map { Self.mix(key ^ UInt64($0)) }
    }

    private func write(_ block: Int, generation: UInt32) async throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: Self.blockSize)
        defer { buffer.deallocate() }
        content(of: block, generation: generation).withUnsafeBytes { buffer.copyMemory(from: $0) }
        try await device.write(from: UnsafeRawBufferPointer(buffer), at: UInt64(block * Self.blockSize))
    }

    private func check(_ block: Int, phase: String) async throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: Self.blockSize)
        defer { buffer.deallocate() }
        try await device.read(into: buffer, at: UInt64(block * Self.blockSize))
        let matches = content(of: block, generation: generation[block]).withUnsafeBytes { $0.elementsEqual(buffer) }
        guard matches else { throw Mismatch(block: block, phase: phase) }
    }

    mutating func writePatternAndVerify() async throws {
        let started = ContinuousClock.now
        for block in 0..<blocks { try await write(block, generation: 0) }
        let written = ContinuousClock.now
        for block in 0..<blocks { try await check(block, phase: "pattern read-back") }
        let read = ContinuousClock.now
        let mib = Double(blocks) / 256
        line("ATTACH pattern \(Int(mib)) MiB in 4 KiB requests: write \(rate(mib, started, written)) MiB/s, "
             + "read \(rate(mib, written, read)) MiB/s, verified")
    }

    /// Writes every block's next generation in 1 MiB calls, then reads them back in 1 MiB calls
    /// and compares: each call is split into requests of ``BlockDevice/maximumRequestBytes``
    /// (indirect requests when the backend and the options allow them).
    mutating func largeTransfersAndVerify() async throws {
        let perCall = 256
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: perCall * Self.blockSize, alignment: Self.blockSize)
        defer { buffer.deallocate() }
        /// Where `block` lies in the buffer of the call that starts at block `first`.
        func bytes(of block: Int, from first: Int) -> Range<Int> { (block - first) * Self.blockSize..<(block - first + 1) * Self.blockSize }
        let started = ContinuousClock.now
        for first in stride(from: 0, to: blocks, by: perCall) {
            let count = min(perCall, blocks - first)
            for block in first..<first + count {
                generation[block] += 1
                content(of: block, generation: generation[block]).withUnsafeBytes {
                    UnsafeMutableRawBufferPointer(rebasing: buffer[bytes(of: block, from: first)]).copyMemory(from: $0)
                }
            }
            try await device.write(from: UnsafeRawBufferPointer(rebasing: buffer[0..<count * Self.blockSize]), at: UInt64(first * Self.blockSize))
        }
        let written = ContinuousClock.now
        for first in stride(from: 0, to: blocks, by: perCall) {
            let count = min(perCall, blocks - first)
            try await device.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count * Self.blockSize]), at: UInt64(first * Self.blockSize))
            for block in first..<first + count {
                let part = UnsafeRawBufferPointer(rebasing: buffer[bytes(of: block, from: first)])
                guard content(of: block, generation: generation[block]).withUnsafeBytes({ $0.elementsEqual(part) }) else {
                    throw Mismatch(block: block, phase: "1 MiB read-back")
                }
            }
        }
        let mib = Double(blocks) / 256
        line("ATTACH \(Int(mib)) MiB in 1 MiB calls of \(device.maximumRequestBytes / 1024) KiB requests: write "
             + "\(rate(mib, started, written)) MiB/s, read \(rate(mib, written, .now)) MiB/s, verified")
    }

    /// `operations` random reads and writes from `depth` concurrent tasks, each on its own blocks.
    mutating func random(operations: Int, depth: Int) async throws {
        let started = ContinuousClock.now
        let snapshot = self
        let results = try await withThrowingTaskGroup(of: [(Int, UInt32)].self) { group in
            for lane in 0..<depth {
                group.addTask { try await snapshot.lane(lane, of: depth, operations: operations / depth) }
            }
            var all: [[(Int, UInt32)]] = []
            for try await written in group { all.append(written) }
            return all
        }
        for (block, generation) in results.joined() { self.generation[block] = generation }
        let seconds = Self.seconds(started, .now)
        let done = operations / depth * depth
        line("ATTACH random 4 KiB, half writes, queue depth \(depth): \(done) ops in \(String(format: "%.2f", seconds)) s "
             + "= \(Int(Double(done) / seconds)) IOPS, verified")
    }

    /// One task's share: returns the generation each of its blocks ended at.
    private func lane(_ lane: Int, of lanes: Int, operations: Int) async throws -> [(Int, UInt32)] {
        var local = self
        var state = Self.mix(seed &+ UInt64(lane) &+ 1)
        var touched: [Int: UInt32] = [:]
        for _ in 0..<operations {
            state = Self.mix(state)
            let block = Int(state % UInt64(blocks / lanes)) * lanes + lane
            if state >> 63 == 1 {
                local.generation[block] += 1
                try await write(block, generation: local.generation[block])
                touched[block] = local.generation[block]
            } else {
                try await local.check(block, phase: "random read")
            }
        }
        return Array(touched)
    }

    func flushAndDiscard() async throws {
        try await device.flush()
        line("ATTACH flush: done (\(device.features.flushCache ? "flush-cache" : "barrier"))")
        if device.features.discard != nil {
            try await device.discard(at: UInt64((blocks - 256) * Self.blockSize), length: 256 * Self.blockSize)
            line("ATTACH discard of 1 MiB: done")
        } else {
            line("ATTACH discard: not offered")
        }
    }

    private static func seconds(_ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> Double {
        let duration = from.duration(to: to)
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func rate(_ mib: Double, _ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> String {
        String(format: "%.2f", mib / Self.seconds(from, to))
    }
}
