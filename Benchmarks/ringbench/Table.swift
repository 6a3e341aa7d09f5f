// The results table, with aligned columns.

import Foundation

/// Formats rows as an aligned text table: ours, then the C reference and the ratio.
struct Table {
    let results: [RowResult]

    init(_ results: [RowResult]) { self.results = results }

    static let headings = [
        "abi", "pages", "workload", "mode", "Mreq/s", "(min-max)", "ns/req", "notif/req",
        "p50 ns", "p99 ns", "p99.9 ns", "alloc/req", "C Mreq/s", "(min-max)", "C notif/req", "ratio",
    ]
    /// Columns aligned left (the row's names); the rest align right.
    static let leftAligned = 4

    var text: String {
        let body = results.map(cells)
        let widths = Self.headings.indices.map { column in
            ([Self.headings] + body).map { $0[column].count }.max() ?? 0
        }
        return ([Self.headings] + body).map { line($0, widths: widths) }.joined(separator: "\n")
    }

    private func line(_ cells: [String], widths: [Int]) -> String {
        cells.enumerated().map { column, cell in
            let padding = String(repeating: " ", count: widths[column] - cell.count)
            return column < Self.leftAligned ? cell + padding : padding + cell
        }.joined(separator: "  ")
    }

    private func cells(_ result: RowResult) -> [String] {
        let ours = result.ours, spec = result.spec
        let reference = result.reference
        return [
            spec.abi.description, "\(spec.pages)", spec.workload.rawValue, spec.mode.rawValue,
            format(ours.mreqPerSecond.median, 2), range(ours.mreqPerSecond), format(ours.nsPerRequest, 1),
            format(ours.notificationsPerRequest, 3), "\(ours.latency.p50)", "\(ours.latency.p99)", "\(ours.latency.p999)",
            format(ours.allocationsPerRequest ?? 0, 0),
            reference.map { format($0.mreqPerSecond.median, 2) } ?? "-", reference.map { range($0.mreqPerSecond) } ?? "",
            reference.map { format($0.notificationsPerRequest, 3) } ?? "-",
            result.ratio.map { format($0, 2) + "x" } ?? "-",
        ]
    }

    private func range(_ spread: Spread) -> String { "(\(format(spread.min, 2))-\(format(spread.max, 2)))" }
}

/// `value` with `digits` decimals.
func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
