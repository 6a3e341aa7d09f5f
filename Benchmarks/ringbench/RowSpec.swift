// One row of the table: what to run, and what one run of either side measured.

import BlkifABI

/// What one row runs.
struct RowSpec: Sendable, CustomStringConvertible {
    let abi: ABI
    let pages: Int
    let workload: WorkloadKind
    let mode: WaitMode
    let requests: Int
    /// Requests the backend serves before publishing their responses; `nil`: all it saw (a batch).
    let pushEvery: Int?
    /// Ring entries each frontend leaves free (`--headroom`); 0: it fills the ring.
    let headroom: Int

    var description: String { "\(abi) \(pages)p \(workload.rawValue) \(mode.rawValue)" }

    /// ``pushEvery`` as `serveRequests(with:limit:)` takes it (no limit: a whole batch).
    var responseLimit: Int { pushEvery ?? .max }
}

/// What one run (one repetition of one side) measured.
struct RunMeasurement: Sendable {
    /// First request written to last response checked.
    let elapsedNanoseconds: UInt64
    /// Requests sent and answered.
    let requests: Int
    /// Notifications sent by both ends.
    let notifications: Int
    /// Heap allocations during the timed loop (ours only; `nil` for the C reference).
    let allocations: UInt64?
    /// Round-trip latencies in ns of the sampled requests.
    let samples: [UInt64]

    /// Millions of requests per second.
    var mreqPerSecond: Double { Double(requests) * 1e3 / Double(max(elapsedNanoseconds, 1)) }
    /// Nanoseconds per request.
    var nsPerRequest: Double { Double(elapsedNanoseconds) / Double(requests) }
    /// Notifications per request.
    var notificationsPerRequest: Double { Double(notifications) / Double(requests) }
}

/// A failed correctness check: the row, the side and the request.
struct CheckFailure: Error, CustomStringConvertible {
    let row: RowSpec
    let side: String
    let request: Int
    let message: String

    var description: String { "CHECK FAILED: \(side), row \(row), request \(request): \(message)" }
}
