// What the two threads of one Swift run share, and what they hand back.

import BlkifABI
import CRingBenchSupport
import Glibc
import Synchronization

/// How the two ends wait for each other.
enum WaitMode: String, CaseIterable, Sendable {
    /// Spin on the producer indexes; never notify.
    case polling
    /// Notify when the ring says so (event-index hold-off); sleep on a futex after a final check.
    case event
    /// One thread plays both ends in turn (fill, publish, serve, publish, take): nothing waits
    /// and no cache line crosses cores, so a row times the CPU cost of the ring code alone.
    /// Only when asked for (`--mode serial`).
    case serial

    /// The modes of the default table.
    static var tableModes: [WaitMode] { [.polling, .event] }

    /// The C reference's number for this mode (`enum ringref_mode`).
    var referenceCode: UInt64 {
        switch self {
        case .polling: 0
        case .event: 1
        case .serial: 2
        }
    }
}

/// Shared state of one run: the ring, the start line, the failure flag and each side's results.
///
/// Each thread writes only its own result fields; the main thread reads them after joining both,
/// hence `@unchecked Sendable`.
final class RunContext: @unchecked Sendable {
    /// Slots of the push-time table, a power of two above any ring's entry count.
    static let stampSlots = 1024

    let ring: UnsafeMutableRawPointer
    let events: UnsafeMutableRawPointer
    let geometry: RingGeometry
    let requests: Int
    let mode: WaitMode
    /// The most requests the backend serves before publishing (`serveRequests(with:limit:)`).
    let responseLimit: Int
    /// Ring entries the frontend leaves free.
    let headroom: Int
    let cpus: CPUPair
    let sampleEvery: Int
    /// Push time of each sampled request in flight, by `id & (stampSlots - 1)`.
    let stamps: UnsafeMutablePointer<UInt64>
    /// Round-trip latencies in ns, written by the producer.
    let samples: UnsafeMutableBufferPointer<UInt64>
    /// The start line and the failure flag, each on its own cache line, away from the results.
    private let ready: UnsafeMutablePointer<Atomic<Int>>
    private let failedFlag: UnsafeMutablePointer<Atomic<Bool>>

    var elapsedNanoseconds: UInt64 = 0
    var frontNotifications = 0
    var backNotifications = 0
    var allocations: UInt64 = 0
    var sampleCount = 0
    /// The first failed check, written by whichever thread failed first.
    private(set) var failure: (request: Int, message: String)?

    init(ring: UnsafeMutableRawPointer, events: UnsafeMutableRawPointer, geometry: RingGeometry,
         requests: Int, mode: WaitMode, responseLimit: Int, headroom: Int, cpus: CPUPair, samples: UnsafeMutableBufferPointer<UInt64>,
         sampleEvery: Int) {
        self.ring = ring
        self.events = events
        self.geometry = geometry
        self.requests = requests
        self.mode = mode
        self.responseLimit = responseLimit
        self.headroom = headroom
        self.cpus = cpus
        self.samples = samples
        self.sampleEvery = sampleEvery
        stamps = .allocate(capacity: Self.stampSlots)
        stamps.initialize(repeating: 0, count: Self.stampSlots)
        ready = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64).bindMemory(to: Atomic<Int>.self, capacity: 1)
        ready.initialize(to: Atomic(0))
        failedFlag = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64).bindMemory(to: Atomic<Bool>.self, capacity: 1)
        failedFlag.initialize(to: Atomic(false))
    }

    deinit {
        stamps.deallocate()
        ready.deallocate()
        failedFlag.deallocate()
    }

    /// Waits until both threads are here (spinning: they are pinned to their own CPUs).
    func startLine() {
        ready.pointee.add(1, ordering: .acquiringAndReleasing)
        while ready.pointee.load(ordering: .acquiring) < 2 { ringbench_cpu_relax() }
    }

    /// Whether either side has failed a check.
    @inline(__always)
    var failed: Bool { failedFlag.pointee.load(ordering: .relaxed) }

    /// Records a failed check (only the first is kept); both threads then stop.
    func fail(request: Int, _ message: String) {
        guard !failedFlag.pointee.exchange(true, ordering: .acquiringAndReleasing) else { return }
        failure = (request, message)
    }
}

/// The CPUs of the producer (frontend) and the consumer (backend).
struct CPUPair: Sendable, CustomStringConvertible {
    let producer: Int
    let consumer: Int
    var description: String { "\(producer),\(consumer)" }
}

/// Nanoseconds of CLOCK_MONOTONIC (vDSO, no system call), the clock both sides use.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}
