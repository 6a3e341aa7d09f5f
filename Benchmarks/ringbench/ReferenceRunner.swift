// Runs one row on the C reference, over the same memory, CPUs and workload as ours.

import BlkifABI
import CRingBenchSupport

/// Drives `ringref_run` for one row.
enum ReferenceRunner {
    /// One timed run of the C reference over `memory` (cleared here; the C side initialises it).
    static func run(_ row: RowSpec, library: ReferenceLibrary, memory: RingMemory, cpus: CPUPair) throws -> RunMeasurement {
        memory.clear()
        let sampleEvery = SwiftRunner.sampleEvery
        let samples = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: row.requests / sampleEvery + 1)
        defer { samples.deallocate() }
        let message = UnsafeMutableBufferPointer<CChar>.allocate(capacity: 512)
        defer { message.deallocate() }
        message.initialize(repeating: 0)
        var config = ringref_config(
            version: UInt64(RINGREF_ABI_VERSION), ring: memory.ring, events: memory.events,
            ring_bytes: UInt64(row.pages * 4096), requests: UInt64(row.requests),
            producer_cpu: Int64(cpus.producer), consumer_cpu: Int64(cpus.consumer),
            workload: row.workload.referenceCode, mode: row.mode.referenceCode, push_every: UInt64(row.pushEvery ?? 0),
            headroom: UInt64(row.headroom),
            samples: samples.baseAddress, sample_capacity: UInt64(samples.count), sample_every: UInt64(sampleEvery),
            message: message.baseAddress, message_capacity: UInt64(message.count))
        var result = ringref_result()
        let status = library.run(&config, &result)
        guard status == 0 else {
            throw CheckFailure(
                row: row, side: "C reference", request: Int(result.failed_request),
                message: String(cString: message.baseAddress!))
        }
        return RunMeasurement(
            elapsedNanoseconds: result.elapsed_ns, requests: row.requests,
            notifications: Int(result.front_notifications + result.back_notifications),
            allocations: nil, samples: Array(samples.prefix(Int(result.sample_count))))
    }
}
