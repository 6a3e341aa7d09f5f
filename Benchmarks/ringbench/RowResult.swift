// A row's repetitions summarised: medians with min–max, latency percentiles, the ratio.

import Histogram

/// Median, minimum and maximum of a few repetitions.
struct Spread: Sendable, Codable {
    let median: Double
    let min: Double
    let max: Double

    /// The spread of `values` (not empty); the median of an even count is the mean of the middle two.
    init(_ values: [Double]) {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted.first ?? 0
        max = sorted.last ?? 0
    }
}

/// Round-trip latency percentiles, in ns.
struct Latency: Sendable {
    let p50: UInt64
    let p99: UInt64
    let p999: UInt64

    /// Records every sample into an HdrHistogram (3 significant digits) and reads the percentiles.
    init(samples: [UInt64]) {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for sample in samples { _ = histogram.record(max(sample, 1)) }
        p50 = histogram.valueAtPercentile(50)
        p99 = histogram.valueAtPercentile(99)
        p999 = histogram.valueAtPercentile(99.9)
    }
}

/// One side of a row over its repetitions.
struct SideSummary: Sendable {
    let mreqPerSecond: Spread
    let nsPerRequest: Double
    let notificationsPerRequest: Double
    let latency: Latency
    /// Heap allocations per request (ours only).
    let allocationsPerRequest: Double?

    init(_ runs: [RunMeasurement]) {
        mreqPerSecond = Spread(runs.map(\.mreqPerSecond))
        nsPerRequest = Spread(runs.map(\.nsPerRequest)).median
        notificationsPerRequest = Spread(runs.map(\.notificationsPerRequest)).median
        latency = Latency(samples: runs.flatMap(\.samples))
        let allocations = runs.compactMap(\.allocations)
        allocationsPerRequest = allocations.isEmpty ? nil
            : Double(allocations.reduce(0, +)) / Double(runs.reduce(0) { $0 + $1.requests })
    }
}

/// A finished row: ours, and the C reference's when it ran.
struct RowResult: Sendable {
    let spec: RowSpec
    let ours: SideSummary
    let reference: SideSummary?

    /// Our median Mreq/s over the reference's, when it ran.
    var ratio: Double? { reference.map { ours.mreqPerSecond.median / $0.mreqPerSecond.median } }
}
