// Runs one row on our ring: two pinned threads, specialised over the workload and the ABI.

import BlkifABI
import BlkifRing

/// Runs our frontend and backend for one row.
enum SwiftRunner {
    /// Latency sampling: one request in this many (a power of two).
    static let sampleEvery = 16

    /// One timed run over `memory` (cleared and initialised here).
    static func run(_ row: RowSpec, memory: RingMemory, cpus: CPUPair) throws -> RunMeasurement {
        let geometry = try RingGeometry(pageCount: row.pages, abi: row.abi)
        memory.clear()
        _ = FrontRing(initializing: memory.ring, geometry: geometry)  // SHARED_RING_INIT; both ends attach
        let samples = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: row.requests / sampleEvery + 1)
        defer { samples.deallocate() }
        let context = RunContext(
            ring: memory.ring, events: memory.events, geometry: geometry, requests: row.requests,
            mode: row.mode, responseLimit: row.responseLimit, headroom: row.headroom, cpus: cpus, samples: samples, sampleEvery: sampleEvery)
        dispatch(row, context)
        if let failure = context.failure {
            throw CheckFailure(row: row, side: "swift", request: failure.request, message: failure.message)
        }
        return RunMeasurement(
            elapsedNanoseconds: context.elapsedNanoseconds, requests: row.requests,
            notifications: context.frontNotifications + context.backNotifications,
            allocations: context.allocations, samples: Array(samples.prefix(context.sampleCount)))
    }

    /// Picks the specialisation for the row's workload.
    private static func dispatch(_ row: RowSpec, _ context: RunContext) {
        switch row.workload {
        case .oneSegment: dispatch(OneSegment.self, row, context)
        case .elevenSegments: dispatch(ElevenSegments.self, row, context)
        case .segmentBlocks: dispatch(SegmentBlocks.self, row, context)
        case .discard: dispatch(DiscardWorkload.self, row, context)
        case .mixed: dispatch(MixedWorkload.self, row, context)
        }
    }

    /// Picks the specialisation for the row's ABI.
    private static func dispatch<W: WorkloadShape>(_ workload: W.Type, _ row: RowSpec, _ context: RunContext) {
        switch row.abi {
        case .native: runThreads(W.self, NativeABI.self, context)
        case .x86_32: runThreads(W.self, X86_32ABI.self, context)
        case .x86_64: runThreads(W.self, X86_64ABI.self, context)
        }
    }

    /// Starts the backend and the frontend on their CPUs and waits for both; in serial mode one
    /// thread, on the producer's CPU, plays both.
    private static func runThreads<W: WorkloadShape, A: ABIChoice>(_: W.Type, _: A.Type, _ context: RunContext) {
        if context.mode == .serial {
            StartedThread(cpu: context.cpus.producer) { SwiftSerial<W, A>.run(context) }.join()
            return
        }
        let backend = StartedThread(cpu: context.cpus.consumer) { SwiftBackend<W, A>.run(context) }
        let frontend = StartedThread(cpu: context.cpus.producer) { SwiftFrontend<W, A>.run(context) }
        frontend.join()
        backend.join()
    }
}
