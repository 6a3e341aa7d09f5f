// Command-line options and the rows they select.

import ArgumentParser
import BlkifABI

extension ABI: ExpressibleByArgument {}

extension WorkloadKind: ExpressibleByArgument {}
extension WaitMode: ExpressibleByArgument {}

/// The options that choose rows and how they run.
struct RowOptions: ParsableArguments {
    @Option(help: "Only this ABI: native, x86_32 or x86_64. Default: native and x86_32.")
    var abi: ABI?

    @Option(help: "Only this ring size in pages (1, 2, 4, 8 or 16). Default: 1, 4 and 16.")
    var pages: Int?

    @Option(help: ArgumentHelp(
        "Only this workload: 1seg, 11seg, 64seg (11 + 53 segments in segment blocks), discard, or mixed.",
        discussion: "Default: all five. mixed: request i has operation i & 1, 1 + (i mod 11) segments, id i, sector 8i, segment j gref i + j, sectors 0-7."))
    var workload: WorkloadKind?

    @Option(help: ArgumentHelp(
        "Only this mode: polling (spin, no events), event (notify with event-index hold-off, futex sleep) or serial. Default: polling and event.",
        discussion: "serial: one thread plays both ends in turn (fill, publish, serve, publish, take), so nothing waits and no cache line crosses cores: the CPU cost of each ring's code alone."))
    var mode: WaitMode?

    @Option(name: .customLong("push-every"), help: ArgumentHelp(
        "The backend publishes its responses after at most this many requests, on both sides. Default: once per batch.",
        discussion: "By default each backend serves every request published when it looks, then publishes (one RING_PUSH_RESPONSES per batch). With N it publishes after every N requests, so the frontend takes the first responses while the rest are being served; Linux's blkback publishes each response as its request completes (--push-every 1)."))
    var pushEvery: Int?

    @Option(help: ArgumentHelp(
        "The frontends leave this many ring entries free, on both sides. Default: 0 (they fill the ring).",
        discussion: "A frontend that fills the ring to the last entry writes its next requests into the slots just behind the ones the backend is reading, and the two cores then contend for neighbouring cache lines; a few dozen entries of headroom keep them apart (see the README's results)."))
    var headroom: Int?

    @Option(help: "Requests per run. Default: 200000 polling / 50000 event (quick: 20000 / 5000).")
    var requests: Int?

    @Option(help: "Repetitions per side and row; C and Swift alternate; the median is reported with min-max. Default: 3 (quick: 1).")
    var repetitions: Int?

    @Flag(help: "A small subset for CI smoke tests: both ABIs, 1 page, 1seg/64seg/mixed, both modes, short runs.")
    var quick = false

    /// The rows selected, in table order.
    func rows() -> [RowSpec] {
        let abis = abi.map { [$0] } ?? [.native, .x86_32]
        let pageCounts = pages.map { [$0] } ?? (quick ? [1] : [1, 4, 16])
        let workloads = workload.map { [$0] }
            ?? (quick ? [.oneSegment, .segmentBlocks, .mixed] : [.oneSegment, .elevenSegments, .segmentBlocks, .discard, .mixed])
        let modes = mode.map { [$0] } ?? WaitMode.tableModes
        return abis.flatMap { abi in
            pageCounts.flatMap { pages in
                workloads.flatMap { workload in
                    modes.map { mode in
                        RowSpec(
                            abi: abi, pages: pages, workload: workload, mode: mode, requests: requestCount(mode),
                            pushEvery: pushEvery, headroom: headroom ?? 0)
                    }
                }
            }
        }
    }

    /// Requests per run for `mode`.
    func requestCount(_ mode: WaitMode) -> Int {
        if let requests { return requests }
        switch (mode, quick) {
        case (.polling, false), (.serial, false): return 200_000
        case (.event, false): return 50_000
        case (.polling, true), (.serial, true): return 20_000
        case (.event, true): return 5_000
        }
    }

    /// Repetitions per side.
    var repetitionCount: Int { repetitions ?? (quick ? 1 : 3) }

    func validate() throws {
        if let pages, ![1, 2, 4, 8, 16].contains(pages) { throw ValidationError("--pages must be 1, 2, 4, 8 or 16") }
        if let requests, requests < 1 { throw ValidationError("--requests must be at least 1") }
        if let repetitions, repetitions < 1 { throw ValidationError("--repetitions must be at least 1") }
        if let pushEvery, pushEvery < 1 { throw ValidationError("--push-every must be at least 1, not \(pushEvery)") }
        if let headroom {
            guard headroom >= 0 else { throw ValidationError("--headroom must be at least 0, not \(headroom)") }
            // Every row's largest request must still fit beside the headroom, or its frontend
            // could never send it.
            for row in rows() {
                let entries = try RingGeometry(pageCount: row.pages, abi: row.abi).entryCount
                let largest = row.abi.entriesForSegments(row.workload.largestSegmentCount)
                guard headroom + largest <= entries else {
                    throw ValidationError(
                        "--headroom \(headroom) leaves no room for a \(row.workload.rawValue) request (\(largest) entr\(largest == 1 ? "y" : "ies")) in the \(entries)-entry ring of \(row)")
                }
            }
        }
    }
}
