// A fixed-size latency histogram: recording allocates nothing.

/// Latencies in nanoseconds, in buckets of 1/32 of a power of two (about 3 % wide), from 1 ns to
/// 2^63 ns. Recording is one increment; percentiles report a bucket's upper bound.
struct LatencyHistogram {
    private static let subBuckets = 32
    private var counts = [UInt64](repeating: 0, count: 64 * LatencyHistogram.subBuckets)
    /// Latencies recorded.
    private(set) var total: UInt64 = 0

    /// Records one latency.
    mutating func record(nanoseconds: UInt64) {
        counts[Self.bucket(of: max(nanoseconds, 1))] &+= 1
        total &+= 1
    }

    /// Adds `other`'s counts to this one.
    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
        total &+= other.total
    }

    /// The latency (ns) below which `fraction` of the recorded ones lie, or 0 when none were.
    func percentile(_ fraction: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = UInt64((Double(total) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= max(rank, 1) { return Self.upperBound(of: index) }
        }
        return Self.upperBound(of: counts.count - 1)
    }

    /// The bucket of `value` (≥ 1): its power of two, then its next five bits.
    private static func bucket(of value: UInt64) -> Int {
        let exponent = 63 - value.leadingZeroBitCount
        guard exponent >= 5 else { return Int(value) }  // 1...31 ns: exact
        let mantissa = Int(truncatingIfNeeded: value >> (exponent - 5)) & (subBuckets - 1)
        return (exponent - 4) * subBuckets + mantissa
    }

    /// The largest value in bucket `index`.
    private static func upperBound(of index: Int) -> UInt64 {
        guard index >= subBuckets else { return UInt64(index) }
        let exponent = index / subBuckets + 4, mantissa = UInt64(index % subBuckets)
        return ((UInt64(subBuckets) + mantissa + 1) << (exponent - 5)) - 1
    }
}
