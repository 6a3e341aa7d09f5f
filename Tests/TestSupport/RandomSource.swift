// A seeded generator for property tests, identical to the one the C peers implement.

import Foundation

/// SplitMix64: a small, fast, fully deterministic generator.
///
/// The C peers implement the same function, so a seed names the same values on both sides.
/// Invariant: the sequence depends only on the seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state.
    public private(set) var state: UInt64

    /// A generator whose first output is SplitMix64's first output for `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The next value below `bound` (> 0) as C's `next() % bound` computes it.
    public mutating func next(below bound: UInt64) -> UInt64 { next() % bound }
}

/// How many random cases a property test runs, and from which seed.
///
/// The seed is fixed so that runs are reproducible; set `BLKIF_FUZZ_SEED` (decimal or `0x` hex)
/// to explore others and `BLKIF_FUZZ_ITERATIONS` to run more cases than the quick default.
public enum PropertyTestConfiguration {
    /// The default seed: any fixed value would do.
    public static let defaultSeed: UInt64 = 0x5eed_b1c1_f00d_cafe

    /// `BLKIF_FUZZ_SEED`, or ``defaultSeed``.
    public static var seed: UInt64 {
        guard let text = ProcessInfo.processInfo.environment["BLKIF_FUZZ_SEED"] else { return defaultSeed }
        let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
        guard let parsed else { fatalError("BLKIF_FUZZ_SEED \"\(text)\" is not a 64-bit number") }
        return parsed
    }

    /// `BLKIF_FUZZ_ITERATIONS`, or `quick`: the count that keeps the suite within seconds.
    public static func iterations(quick: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment["BLKIF_FUZZ_ITERATIONS"] else { return quick }
        guard let parsed = Int(text), parsed > 0 else { fatalError("BLKIF_FUZZ_ITERATIONS \"\(text)\" is not a positive count") }
        return parsed
    }
}
