// The performance bar: one PASS/FAIL line per condition, with the figures behind it.

/// Evaluates the bar over the rows that ran with the C reference:
/// native polling at 1 and 16 pages ≥ 1.10×; x86_32 polling at 1 and 16 pages ≥ 1.0×;
/// every event row: our notifications per request ≤ the reference's (2% slack for timing).
/// Defined for the default policy (backends publish once per batch, frontends fill the ring):
/// not evaluated under `--push-every` or `--headroom`. Reported only: machines are noisy, so the
/// bar never changes the exit status.
struct BarCheck {
    let results: [RowResult]

    init(_ results: [RowResult]) { self.results = results }

    var text: String {
        let paired = results.filter { $0.reference != nil }
        guard !paired.isEmpty else { return "bar: not evaluated (the C reference did not run)" }
        guard paired.allSatisfy({ $0.spec.pushEvery == nil && $0.spec.headroom == 0 }) else {
            return "bar: not evaluated (it is defined for once-per-batch publishing and full filling; --push-every/--headroom change them)"
        }
        let lines = [
            throughput(paired, abi: "native", minimum: 1.10),
            throughput(paired, abi: "x86_32", minimum: 1.00),
            notifications(paired),
        ]
        return lines.compactMap { $0 }.joined(separator: "\n")
    }

    /// Polling rows of `abi` at 1 and 16 pages: ratio ≥ `minimum`.
    private func throughput(_ rows: [RowResult], abi: String, minimum: Double) -> String? {
        let selected = rows.filter {
            $0.spec.abi.description == abi && $0.spec.mode == .polling && [1, 16].contains($0.spec.pages)
        }
        guard !selected.isEmpty else { return nil }
        let failing = selected.filter { ($0.ratio ?? 0) < minimum }
        let worst = selected.min { ($0.ratio ?? 0) < ($1.ratio ?? 0) }!
        let verdict = failing.isEmpty ? "PASS" : "FAIL"
        var line = "bar \(verdict): \(abi) polling 1/16 pages ours >= \(format(minimum, 2))x C: "
            + "\(selected.count - failing.count)/\(selected.count) rows, worst \(worst.spec) \(format(worst.ratio ?? 0, 2))x"
        if !failing.isEmpty {
            line += "; short: " + failing.map { "\($0.spec.pages)p \($0.spec.workload.rawValue) \(format($0.ratio ?? 0, 2))x" }
                .joined(separator: ", ")
        }
        return line
    }

    /// Event rows: our notifications per request ≤ the reference's.
    private func notifications(_ rows: [RowResult]) -> String? {
        let selected = rows.filter { $0.spec.mode == .event }
        guard !selected.isEmpty else { return nil }
        // A few notifications either way are timing, not protocol: allow 2% over the reference.
        let failing = selected.filter { $0.ours.notificationsPerRequest > $0.reference!.notificationsPerRequest * 1.02 }
        let verdict = failing.isEmpty ? "PASS" : "FAIL"
        var line = "bar \(verdict): event notifications/request ours <= C (+2% timing slack): \(selected.count - failing.count)/\(selected.count) rows"
        if !failing.isEmpty {
            line += "; over: " + failing.map {
                "\($0.spec) \(format($0.ours.notificationsPerRequest, 4)) vs \(format($0.reference!.notificationsPerRequest, 4))"
            }.joined(separator: ", ")
        }
        return line
    }
}
