// Runs every selected row: C and Swift alternating, several repetitions each.

import BlkifABI
import Foundation

/// The benchmark session: the rows, the memory placement, the loaded references.
struct Bench {
    let rows: [RowSpec]
    let repetitions: Int
    let cpus: CPUPair
    let node: Int
    let topology: NumaTopology
    /// Loaded C references by layout; a layout missing here runs ours only.
    let references: [ReferenceLibrary.Layout: ReferenceLibrary]

    /// Runs every row, reporting progress on stderr; throws the first failed check.
    func run() throws -> [RowResult] {
        var results: [RowResult] = []
        for (index, row) in rows.enumerated() {
            progress("[\(index + 1)/\(rows.count)] \(row)...")
            results.append(try measure(row))
        }
        progress(nil)
        return results
    }

    /// One row: for each repetition the C reference, then ours, over the same memory.
    private func measure(_ row: RowSpec) throws -> RowResult {
        let geometry = try RingGeometry(pageCount: row.pages, abi: row.abi)
        let memory = RingMemory(byteCount: geometry.byteCount, node: node, topology: topology)
        let library = references[ReferenceLibrary.Layout(row.abi)]
        var ours: [RunMeasurement] = [], theirs: [RunMeasurement] = []
        for _ in 0..<repetitions {
            if let library {
                theirs.append(try ReferenceRunner.run(row, library: library, memory: memory, cpus: cpus))
            }
            ours.append(try SwiftRunner.run(row, memory: memory, cpus: cpus))
        }
        return RowResult(spec: row, ours: SideSummary(ours), reference: theirs.isEmpty ? nil : SideSummary(theirs))
    }

    /// Rewrites the progress line on stderr (`nil` clears it).
    private func progress(_ line: String?) {
        let text = line.map { "\r\u{1B}[K\($0)" } ?? "\r\u{1B}[K"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
