// Running fio on the served image, for `blkif attach bench --compare-fio`.

import ArgumentParser
import Foundation

/// fio's figures for the same pattern on the same file, and ours beside them.
struct FioComparison {
    /// IOPS of fio's `psync` engine.
    let psync: Double
    /// IOPS of fio's `io_uring` engine (nil when the kernel or fio refused it).
    let ioUring: Double?
    /// Our IOPS.
    let ours: Double

    /// The better of the two engines.
    var best: Double { max(psync, ioUring ?? 0) }
    /// Ours over the better engine.
    var ratio: Double { best > 0 ? ours / best : 0 }

    var text: String {
        String(format: "fio psync: %.0f IOPS; fio io_uring: %@; blkif: %.0f IOPS = %.2f× the better engine",
               psync, ioUring.map { String(format: "%.0f IOPS", $0) } ?? "unavailable", ours, ratio)
    }

    var jsonFields: [String] {
        [String(format: "\"fio_psync_iops\": %.0f", psync), ioUring.map { String(format: "\"fio_io_uring_iops\": %.0f", $0) } ?? "\"fio_io_uring_iops\": null",
         String(format: "\"ratio\": %.3f", ratio)]
    }

    /// Runs fio twice (psync, io_uring) on `file` with the benchmark's pattern, block size,
    /// depth and duration; the file's pages stay cached (`--invalidate=0`).
    static func run(file: String, pattern: AccessPattern, blockSize: Int, depth: Int, seconds: Int, ours: Double) throws -> FioComparison {
        let psync = try iops(engine: "psync", file: file, pattern: pattern, blockSize: blockSize, depth: depth, seconds: seconds)
        let ioUring = try? iops(engine: "io_uring", file: file, pattern: pattern, blockSize: blockSize, depth: depth, seconds: seconds)
        return FioComparison(psync: psync, ioUring: ioUring, ours: ours)
    }

    /// One fio run's IOPS (reads plus writes).
    private static func iops(engine: String, file: String, pattern: AccessPattern, blockSize: Int, depth: Int, seconds: Int) throws -> Double {
        let fio = Process()
        fio.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        fio.arguments = ["fio", "--name=blkif-compare", "--filename=\(file)", "--rw=\(pattern.fioName)", "--bs=\(blockSize)",
                         "--iodepth=\(depth)", "--ioengine=\(engine)", "--time_based", "--runtime=\(seconds)", "--ramp_time=1",
                         "--invalidate=0", "--direct=0", "--randrepeat=0", "--output-format=json"]
        let output = Pipe()
        fio.standardOutput = output
        fio.standardError = FileHandle.nullDevice
        do { try fio.run() } catch { throw ValidationError("cannot run fio (apt-get install fio): \(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        fio.waitUntilExit()
        guard fio.terminationStatus == 0 else {
            throw ValidationError("fio --ioengine=\(engine) on \(file) exited with status \(fio.terminationStatus)")
        }
        // fio may print notes ("queue depth will be capped at 1") before its JSON.
        let json = data.firstIndex(of: UInt8(ascii: "{")).map { data[$0...] } ?? data
        guard let report = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
              let job = (report["jobs"] as? [[String: Any]])?.first else {
            throw ValidationError("fio --ioengine=\(engine): its JSON report has no job")
        }
        let read = (job["read"] as? [String: Any])?["iops"] as? Double ?? 0
        let write = (job["write"] as? [String: Any])?["iops"] as? Double ?? 0
        return read + write
    }
}
