// Every row as JSON, for tracking results over time.

import Foundation

/// One JSON object per row.
struct JSONRow: Codable {
    let abi: String
    let pages: Int
    let workload: String
    let mode: String
    let requests: Int
    /// `--push-every`: requests the backends serve before publishing; absent: once per batch.
    let pushEvery: Int?
    /// `--headroom`: ring entries the frontends leave free.
    let headroom: Int
    let repetitions: Int
    let mreqPerSecond: Double
    let mreqPerSecondMin: Double
    let mreqPerSecondMax: Double
    let nsPerRequest: Double
    let notificationsPerRequest: Double
    let allocationsPerRequest: Double
    let p50Ns: UInt64
    let p99Ns: UInt64
    let p999Ns: UInt64
    let referenceMreqPerSecond: Double?
    let referenceMreqPerSecondMin: Double?
    let referenceMreqPerSecondMax: Double?
    let referenceNotificationsPerRequest: Double?
    let referenceP50Ns: UInt64?
    let referenceP99Ns: UInt64?
    let referenceP999Ns: UInt64?
    let ratio: Double?
}

/// Writes the rows as a JSON array.
struct JSONReport {
    let rows: [JSONRow]

    init(_ results: [RowResult], repetitions: Int) {
        rows = results.map { result in
            let ours = result.ours, reference = result.reference
            return JSONRow(
                abi: result.spec.abi.description, pages: result.spec.pages, workload: result.spec.workload.rawValue,
                mode: result.spec.mode.rawValue, requests: result.spec.requests, pushEvery: result.spec.pushEvery,
                headroom: result.spec.headroom,
                repetitions: repetitions,
                mreqPerSecond: ours.mreqPerSecond.median, mreqPerSecondMin: ours.mreqPerSecond.min,
                mreqPerSecondMax: ours.mreqPerSecond.max, nsPerRequest: ours.nsPerRequest,
                notificationsPerRequest: ours.notificationsPerRequest, allocationsPerRequest: ours.allocationsPerRequest ?? 0,
                p50Ns: ours.latency.p50, p99Ns: ours.latency.p99, p999Ns: ours.latency.p999,
                referenceMreqPerSecond: reference?.mreqPerSecond.median, referenceMreqPerSecondMin: reference?.mreqPerSecond.min,
                referenceMreqPerSecondMax: reference?.mreqPerSecond.max,
                referenceNotificationsPerRequest: reference?.notificationsPerRequest,
                referenceP50Ns: reference?.latency.p50, referenceP99Ns: reference?.latency.p99,
                referenceP999Ns: reference?.latency.p999, ratio: result.ratio)
        }
    }

    /// Writes the array to `path`, pretty-printed with sorted keys.
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(rows).write(to: URL(fileURLWithPath: path))
    }
}
