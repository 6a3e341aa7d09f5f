// The lines printed before the table: where and what it runs.

import BlkifABI
import CRingBenchSupport
import Foundation

/// The header: CPUs, NUMA placement, ring sizes, date, toolchain, C reference.
struct Header {
    let cpus: CPUPair
    let node: Int
    let topology: NumaTopology
    let rows: [RowSpec]
    let references: [ReferenceLibrary.Layout: ReferenceLibrary]

    var text: String {
        let numa = topology.available
            ? "NUMA node \(node) (\(topology.nodeCount == 1 ? "the machine has one node" : "\(topology.nodeCount) nodes on the machine"))"
            : "NUMA unavailable (plain pages)"
        let sizes = Set(rows.map(\.pages)).sorted().map { "\($0)p=\($0 * 4096)B" }.joined(separator: " ")
        let date = ISO8601DateFormatter().string(from: Date())
        var lines = [
            "ringbench \(date)  \(compilerVersion)  \(ringbench_allowed_cpu_count()) CPUs allowed",
            "producer CPU \(cpus.producer), consumer CPU \(cpus.consumer); ring memory on \(numa); ring bytes \(sizes)",
        ]
        // Every row of a run shares the two policies (they are options of the whole run).
        let policy = rows.first?.pushEvery.map { "after every \($0) request\($0 == 1 ? "" : "s") (--push-every)" }
            ?? "once per batch (every request published when it looks)"
        let headroom = rows.first?.headroom ?? 0
        let filling = headroom == 0 ? "fills the ring" : "leaves \(headroom) entries free (--headroom)"
        lines.append("each backend publishes its responses \(policy); each frontend \(filling)")
        if references.isEmpty {
            lines.append("C reference: not run (ours only)")
        } else {
            let loaded = references.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue): \($0.value.path)" }
            lines.append("C reference: Xen ring.h/blkif.h macros, cc -O2; \(loaded.joined(separator: "; "))")
        }
        return lines.joined(separator: "\n")
    }

    private var compilerVersion: String {
        #if compiler(>=6.3)
        "Swift 6.3+"
        #elseif compiler(>=6.2)
        "Swift 6.2"
        #else
        "Swift"
        #endif
    }
}
