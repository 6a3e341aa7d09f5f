// The ringbench command: options, the header line, the run, the report.

import ArgumentParser
import CRingBenchSupport
import Foundation

/// `ringbench`: how fast our blkif ring is against the C reference built from Xen's own headers.
@main
struct RingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringbench",
        abstract: "Measure the Swift blkif ring against Xen's C ring.h/blkif.h macros, row by row.",
        discussion: """
            Each row runs a producer (frontend) and a consumer (backend) thread pinned to two CPUs over ring \
            memory placed with libnuma on one node, first with the C reference (reference/ringref.c, Xen's \
            ring.h/blkif.h macros, loaded with dlopen; built with cc if no prebuilt library is found) then \
            with ours, alternating for --repetitions. Every request is checked by the backend and every \
            response by the frontend; a mismatch on either side exits with status 1. With --mode serial \
            one thread on the producer CPU plays both ends in turn, for each side: the CPU cost of the ring \
            code with no waiting and no cache line crossing cores.
            Allocations are counted by replacing malloc/calloc/realloc/memalign with counting wrappers over \
            glibc's own (__libc_malloc...), read before and after the timed loop: every heap allocation of \
            the process in that window counts, from either thread.
            Latency: the round trip of one request in 16, from the push that published it to its response \
            being taken, recorded into an HdrHistogram after the run.
            """)

    @OptionGroup var rowOptions: RowOptions

    @Option(help: "Producer and consumer CPUs, comma separated.")
    var cpus: String = "0,1"

    @Option(name: .customLong("numa-node"), help: "NUMA node for the ring memory. Default: the consumer CPU's node.")
    var numaNode: Int?

    @Option(help: "Write every row as JSON to this file.")
    var json: String?

    @Flag(name: .customLong("no-reference"), help: "Do not run the C reference.")
    var noReference = false

    mutating func run() throws {
        let cpuPair = try parseCPUs()
        let counted = alloc_counter_total()
        alloc_counter_probe()
        guard alloc_counter_total() > counted else {
            FileHandle.standardError.write(Data("the allocation counter did not see a malloc: allocations cannot be counted\n".utf8))
            throw ExitCode(1)
        }
        let topology = NumaTopology.probe()
        let node = numaNode ?? topology.node(ofCPU: cpuPair.consumer)
        let rows = rowOptions.rows()
        let references = noReference ? [:] : loadReferences(for: rows)
        print(Header(cpus: cpuPair, node: node, topology: topology, rows: rows, references: references).text)
        let bench = Bench(rows: rows, repetitions: rowOptions.repetitionCount, cpus: cpuPair, node: node,
                          topology: topology, references: references)
        let results: [RowResult]
        do { results = try bench.run() } catch let failure as CheckFailure {
            FileHandle.standardError.write(Data("\n\(failure)\n".utf8))
            throw ExitCode(1)
        }
        print(Table(results).text)
        print(BarCheck(results).text)
        if let json { try JSONReport(results, repetitions: rowOptions.repetitionCount).write(to: json) }
        try requireZeroAllocations(results)
    }

    private func parseCPUs() throws -> CPUPair {
        let parts = cpus.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, parts.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--cpus takes two CPU numbers, e.g. 0,1") }
        return CPUPair(producer: parts[0], consumer: parts[1])
    }

    /// Loads the layouts the rows need; says why and how to fix it when one cannot be loaded.
    private func loadReferences(for rows: [RowSpec]) -> [ReferenceLibrary.Layout: ReferenceLibrary] {
        var loaded: [ReferenceLibrary.Layout: ReferenceLibrary] = [:]
        let log: (String) -> Void = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        for layout in Set(rows.map { ReferenceLibrary.Layout($0.abi) }) {
            do { loaded[layout] = try ReferenceLibrary.load(layout, log: log) } catch {
                log("C reference (\(layout.rawValue)) not run: \(error); running ours only")
            }
        }
        return loaded
    }

    /// Our side must not allocate in its timed loop: a non-zero count fails the run.
    private func requireZeroAllocations(_ results: [RowResult]) throws {
        let allocating = results.filter { ($0.ours.allocationsPerRequest ?? 0) > 0 }
        guard allocating.isEmpty else {
            FileHandle.standardError.write(Data("ALLOCATIONS in the timed loop: \(allocating.map(\.spec.description))\n".utf8))
            throw ExitCode(1)
        }
    }
}
