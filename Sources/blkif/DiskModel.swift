// What the disk must hold: a private copy updated with every acknowledged write, for verify.

import BlkFront
import Foundation
import Synchronization

/// A mismatch between the disk and the model.
struct VerifyFailure: Error, CustomStringConvertible {
    let description: String
}

/// Counts of the random operations done, by kind.
struct OperationTally: CustomStringConvertible {
    var writes = 0, barrierWrites = 0, reads = 0, flushes = 0, discards = 0, secureDiscards = 0
    var bytesWritten = 0, bytesRead = 0

    mutating func add(_ other: OperationTally) {
        writes += other.writes; barrierWrites += other.barrierWrites; reads += other.reads; flushes += other.flushes
        discards += other.discards; secureDiscards += other.secureDiscards
        bytesWritten += other.bytesWritten; bytesRead += other.bytesRead
    }

    var total: Int { writes + barrierWrites + reads + flushes + discards + secureDiscards }

    var description: String {
        "\(total) operations (\(writes) writes, \(barrierWrites) barrier writes, \(reads) reads, \(flushes) flushes, "
            + "\(discards) discards, \(secureDiscards) secure discards; \(bytesWritten / 1024) KiB written, \(bytesRead / 1024) KiB read)"
    }
}

/// The expected contents of the first `byteCount` bytes of the disk. Workers own disjoint
/// regions, so they update it concurrently without a lock.
final class DiskModel: @unchecked Sendable {  // safe: each worker touches only its own region
    let bytes: UnsafeMutableRawBufferPointer

    init(byteCount: Int) {
        bytes = .allocate(byteCount: byteCount, alignment: 4096)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    func deallocate() { bytes.deallocate() }

    /// Worker `index`'s region of `workers`, in whole sectors.
    func region(_ index: Int, of workers: Int) -> Range<Int> {
        let sectors = bytes.count / 512
        return (sectors * index / workers * 512)..<(sectors * (index + 1) / workers * 512)
    }

    /// Fills the model with a seeded pattern and writes it, 1 MiB at a time.
    func writePattern(to device: BlockDevice, seed: UInt64, workers: Int) async throws {
        var random = SplitMix(seed: seed)
        fill(bytes[...], with: &random)
        try await forEachRegion(workers) { region in
            var offset = region.lowerBound
            while offset < region.upperBound {
                let length = min(1 << 20, region.upperBound - offset)
                try await device.write(from: UnsafeRawBufferPointer(rebasing: self.bytes[offset..<offset + length]), at: UInt64(offset))
                offset += length
            }
        }
    }

    /// Reads the whole span back and compares it with the model.
    func compareAll(with device: BlockDevice, workers: Int, stage: String) async throws {
        try await forEachRegion(workers) { region in
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            defer { scratch.deallocate() }
            var offset = region.lowerBound
            while offset < region.upperBound {
                let length = min(1 << 20, region.upperBound - offset)
                try await device.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length]), at: UInt64(offset))
                try self.compare(UnsafeRawBufferPointer(rebasing: scratch[0..<length]), at: offset, after: stage)
                offset += length
            }
        }
    }

    /// `count` random operations spread over the workers, each in its own region.
    func randomOperations(on device: BlockDevice, count: Int, workers: Int, maxSize: Int, seed: UInt64) async throws -> OperationTally {
        try await withThrowingTaskGroup(of: OperationTally.self) { group in
            for worker in 0..<workers {
                let share = count / workers + (worker < count % workers ? 1 : 0)
                let region = self.region(worker, of: workers)
                group.addTask {
                    var random = SplitMix(seed: seed &+ 0x5EED &+ UInt64(worker))
                    return try await self.work(on: device, region: region, count: share, maxSize: maxSize, random: &random)
                }
            }
            var tally = OperationTally()
            for try await part in group { tally.add(part) }
            return tally
        }
    }

    /// One worker's operations.
    private func work(on device: BlockDevice, region: Range<Int>, count: Int, maxSize: Int, random: inout SplitMix) async throws -> OperationTally {
        var tally = OperationTally()
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(maxSize, 512), alignment: 4096)
        defer { scratch.deallocate() }
        let features = device.features
        for _ in 0..<count {
            let regionSectors = region.count / 512
            let largest = max(1, min(maxSize / 512, regionSectors))
            let sectors = random.next(below: 2) == 0 ? 1 + Int(random.next(below: UInt64(min(16, largest)))) : 1 + Int(random.next(below: UInt64(largest)))
            let offset = region.lowerBound + Int(random.next(below: UInt64(regionSectors - sectors + 1))) * 512
            let length = sectors * 512
            let io = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length])
            var kind = random.next(below: 20)
            if kind == 7, !features.barrier { kind = 0 }  // barrier writes only where offered
            switch kind {
            case 0..<7:
                fill(bytes[offset..<offset + length], with: &random)
                try await device.write(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), at: UInt64(offset))
                tally.writes += 1; tally.bytesWritten += length
            case 7:
                fill(bytes[offset..<offset + length], with: &random)
                try await device.write(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), at: UInt64(offset), barrier: true)
                tally.barrierWrites += 1; tally.bytesWritten += length
            case 8..<15:
                try await device.read(into: io, at: UInt64(offset))
                try compare(UnsafeRawBufferPointer(io), at: offset, after: "a read")
                tally.reads += 1; tally.bytesRead += length
            case 15, 16:
                guard features.flushCache || features.barrier else { continue }
                try await device.flush()
                tally.flushes += 1
            default:
                guard let discard = features.discard else { continue }
                let secure = discard.secure && random.next(below: 3) == 0
                try await device.discard(at: UInt64(offset), length: length, secure: secure)
                try await device.read(into: io, at: UInt64(offset))
                try checkDiscarded(UnsafeRawBufferPointer(io), at: offset, secure: secure)
                if secure { tally.secureDiscards += 1 } else { tally.discards += 1 }
            }
        }
        return tally
    }

    /// After a discard each sector reads as before or as zeros (all zeros for a secure one);
    /// the model takes what was read.
    private func checkDiscarded(_ read: UnsafeRawBufferPointer, at offset: Int, secure: Bool) throws {
        for sector in stride(from: 0, to: read.count, by: 512) {
            let got = UnsafeRawBufferPointer(rebasing: read[sector..<sector + 512])
            let zero = got.allSatisfy { $0 == 0 }
            let unchanged = memcmp(got.baseAddress!, bytes.baseAddress! + offset + sector, 512) == 0
            guard zero || (!secure && unchanged) else {
                throw VerifyFailure(description: "after a \(secure ? "secure " : "")discard, byte \(offset + sector)'s sector reads neither zeros\(secure ? "" : " nor its earlier data")")
            }
        }
        UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<offset + read.count]).copyMemory(from: read)
    }

    /// Throws naming the first byte where `read` differs from the model at `offset`.
    private func compare(_ read: UnsafeRawBufferPointer, at offset: Int, after stage: String) throws {
        guard memcmp(read.baseAddress!, bytes.baseAddress! + offset, read.count) != 0 else { return }
        let first = (0..<read.count).first { read[$0] != bytes[offset + $0] }!
        throw VerifyFailure(description: "after \(stage), byte \(offset + first) reads 0x\(String(read[first], radix: 16)), "
                            + "expected 0x\(String(bytes[offset + first], radix: 16)) (I/O of \(read.count) bytes at \(offset))")
    }

    /// Runs `body` for each worker's region concurrently.
    private func forEachRegion(_ workers: Int, _ body: @escaping @Sendable (Range<Int>) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                let region = region(worker, of: workers)
                group.addTask { try await body(region) }
            }
            try await group.waitForAll()
        }
    }

    /// Fills `slice` with the generator's bytes.
    private func fill(_ slice: Slice<UnsafeMutableRawBufferPointer>, with random: inout SplitMix) {
        let target = UnsafeMutableRawBufferPointer(rebasing: slice)
        var index = 0
        while index < target.count {
            var word = random.next()
            for _ in 0..<min(8, target.count - index) {
                target[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
    }
}
