// A seeded generator and a hostile peer that scribbles over a ring between our calls.

import BlkifABI
import BlkifRing
import Foundation
import Synchronization

/// SplitMix64: a fast generator whose whole state is the seed, so a failure replays exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15  // expected to wrap
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The fuzz run's knobs: `BLKIF_FUZZ_SEED` replays a run, `BLKIF_FUZZ_SECONDS` lengthens it
/// (default 2 seconds per test, as `make test` runs it).
enum FuzzSettings {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["BLKIF_FUZZ_SEED"].flatMap { UInt64($0) }
        ?? UInt64.random(in: 1...UInt64.max)
    static let duration = Duration.seconds(
        ProcessInfo.processInfo.environment["BLKIF_FUZZ_SECONDS"].flatMap { Double($0) } ?? 2)
}

/// A peer that writes random bytes into slots and random values into the shared producer
/// indexes: sometimes plausible (a little past what is consumed), sometimes anything at all.
struct HostilePeer {
    let ring: SharedRing
    var random: SeededGenerator

    /// A random ring shape: either ABI, 1 or 2 pages.
    static func geometry(using random: inout SeededGenerator) throws -> RingGeometry {
        try RingGeometry(pageCount: Bool.random(using: &random) ? 1 : 2, abi: Bool.random(using: &random) ? .x86_64 : .x86_32)
    }

    /// Random bytes over `count` random slots; headers often get a segment-carrying operation
    /// and a large `nr_segments`, so multi-entry requests are claimed.
    mutating func scribble(slots count: Int) {
        let entrySize = ring.geometry.abi.layout.entrySize
        for _ in 0..<count {
            let slot = ring.entries(from: RingIndex(UInt32.random(in: 0...UInt32.max, using: &random)), count: 1).entry(0)
            for offset in stride(from: 0, to: entrySize - 3, by: 4) {
                slot.storeBytes(of: UInt32.random(in: 0...UInt32.max, using: &random), toByteOffset: offset, as: UInt32.self)
            }
            if Bool.random(using: &random) {
                slot.storeBytes(of: UInt8.random(in: 0...7, using: &random), toByteOffset: 0, as: UInt8.self)
                slot.storeBytes(of: UInt8.random(in: 0...255, using: &random), toByteOffset: 1, as: UInt8.self)
            }
        }
    }

    /// A producer value: `near` plus up to a ring and a bit more, or (one time in eight) anything.
    mutating func producer(near: RingIndex) -> RingIndex {
        if UInt8.random(in: 0..<8, using: &random) == 0 { return RingIndex(UInt32.random(in: 0...UInt32.max, using: &random)) }
        return near.advanced(by: UInt32.random(in: 0...UInt32(ring.geometry.entryCount + 2), using: &random))
    }

    /// Publishes a hostile `req_prod`.
    mutating func publishRequests(near: RingIndex) {
        ring.requestProducer.pointee.store(producer(near: near), ordering: .releasing)
    }

    /// Publishes a hostile `rsp_prod`.
    mutating func publishResponses(near: RingIndex) {
        ring.responseProducer.pointee.store(producer(near: near), ordering: .releasing)
    }
}

/// Ring memory of one geometry, page-aligned and exactly the ring's size (so a read past it is
/// an address-sanitizer error).
final class RingMemory {
    let base: UnsafeMutableRawPointer
    let geometry: RingGeometry

    init(_ geometry: RingGeometry) {
        self.geometry = geometry
        base = .allocate(byteCount: geometry.byteCount, alignment: RingGeometry.pageSize)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: geometry.byteCount)
    }

    deinit { base.deallocate() }
}
