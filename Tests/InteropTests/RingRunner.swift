// One interop run: a shared file, the C peer(s) spawned, our end(s) on this process's threads.

import BlkifABI
import BlkifRing
import Foundation
import Synchronization
import TestSupport

/// What one run puts on the ring and who plays which end.
struct RingRunConfiguration: CustomStringConvertible {
    /// Which implementation plays each end.
    enum Ends: String {
        case ourFrontCBack = "our front <-> C back"
        case cFrontOurBack = "C front <-> our back"
        case cFrontCBack = "C front <-> C back"
        case ourFrontOurBack = "our front <-> our back"
    }

    var ends: Ends
    var abi: ABI
    var pages: Int
    var requests: Int
    var mode = RingPacing.Mode.poll
    /// Seed of the random delays on both ends; 0 for none.
    var seed: UInt64 = 0
    /// Lock-step batch size; 0 keeps the ring full.
    var batch = 0
    /// Both indexes start here: near 2^32 so every run crosses the wrap.
    var start = RingIndex(UInt32.max - 999)

    var description: String {
        "\(abi) \(pages)-page ring, \(ends.rawValue), \(mode), \(requests) requests, seed \(seed), batch \(batch), start \(start)"
    }

    /// The seed of one end's delays (the two ends draw different streams).
    func seed(front: Bool) -> UInt64 { seed == 0 ? 0 : (front ? seed : seed &+ 1) }
}

/// Notify decisions and sleeps of both ends of a run.
struct RingRunOutcome {
    var frontNotifications = 0, backNotifications = 0, frontWaits = 0, backWaits = 0
}

/// The shared file of a run: the ring's pages, then one page whose first words are the two
/// event counters and the "ring initialised" flag, so the futex words lie outside the ring.
final class RingSharedFile: @unchecked Sendable {  // immutable after init; the memory is shared by design
    let memory: SharedMemory
    let geometry: RingGeometry
    static let initialisedMagic: UInt32 = 0x5249_4E47

    init(geometry: RingGeometry) throws {
        self.geometry = geometry
        memory = try SharedMemory(byteCount: geometry.byteCount + RingGeometry.pageSize, name: "ring")
    }

    var ring: UnsafeMutableRawPointer { memory.base }
    var words: UnsafeMutableRawPointer { memory.base + geometry.byteCount }
    private var initialised: UnsafeMutablePointer<Atomic<UInt32>> {
        (words + 8).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The front says the ring is initialised.
    func markInitialised() { initialised.pointee.store(Self.initialisedMagic, ordering: .releasing) }

    /// The back waits (bounded) for the front to initialise the ring.
    func waitUntilInitialised() throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while initialised.pointee.load(ordering: .acquiring) != Self.initialisedMagic {
            guard ContinuousClock.now < deadline else { throw RingMismatch(description: "the front never initialised the ring") }
            usleep(100)
        }
    }
}

/// Runs configurations: builds the C peer once per ABI, spawns it, drives our end.
enum RingRunner {
    private static let binaries = Mutex<[CPeerBits: URL]>([:])

    /// The C peer for `abi`, compiled on first use.
    static func peer(for abi: ABI) throws -> URL {
        let bits: CPeerBits = abi.resolved == .x86_32 ? .m32 : .m64
        return try binaries.withLock { cache in
            if let url = cache[bits] { return url }
            let source = CPeer.sourceDirectory(besides: #filePath).appendingPathComponent("ring_peer.c")
            let url = try CPeer.build([source], bits: bits, name: "ring_peer")
            cache[bits] = url
            return url
        }
    }

    /// Runs `configuration` to completion; throws the first mismatch either end found.
    static func run(_ configuration: RingRunConfiguration) throws -> RingRunOutcome {
        let geometry = try RingGeometry(pageCount: configuration.pages, abi: configuration.abi)
        let file = try RingSharedFile(geometry: geometry)
        defer { file.memory.close() }
        switch configuration.ends {
        case .ourFrontCBack:
            var front = ourFront(configuration, file: file)
            let back = try spawn(front: false, configuration, file: file)
            front.pacing.peerGone = { !back.isRunning }
            let outcome = try collect(back, from: { try front.run() })
            return RingRunOutcome(frontNotifications: front.pacing.notifications, backNotifications: outcome.notifications,
                                  frontWaits: front.pacing.waits, backWaits: outcome.waits)
        case .cFrontOurBack:
            let front = try spawn(front: true, configuration, file: file)
            var back = try ourBack(configuration, file: file, after: front)
            back.pacing.peerGone = { !front.isRunning }
            let outcome = try collect(front, from: { try back.run() })
            return RingRunOutcome(frontNotifications: outcome.notifications, backNotifications: back.pacing.notifications,
                                  frontWaits: outcome.waits, backWaits: back.pacing.waits)
        case .cFrontCBack:
            let front = try spawn(front: true, configuration, file: file)
            let back = try collect(try spawn(front: false, configuration, file: file), from: {})
            let outcome = try collect(front, from: {})
            return RingRunOutcome(frontNotifications: outcome.notifications, backNotifications: back.notifications,
                                  frontWaits: outcome.waits, backWaits: back.waits)
        case .ourFrontOurBack:
            return try runBothOurs(configuration, file: file)
        }
    }

    private static func ourFront(_ configuration: RingRunConfiguration, file: RingSharedFile) -> FrontDriver {
        let ring = FrontRing(initializing: file.ring, geometry: file.geometry, startingAt: configuration.start)
        file.markInitialised()
        let pacing = RingPacing(mode: configuration.mode, words: file.words, side: .front, seed: configuration.seed(front: true))
        return FrontDriver(ring: ring, pacing: pacing, count: configuration.requests, batch: configuration.batch)
    }

    private static func ourBack(
        _ configuration: RingRunConfiguration, file: RingSharedFile, after front: ChildProcess.Running? = nil
    ) throws -> BackDriver {
        do { try file.waitUntilInitialised() } catch {
            throw RingMismatch(description: "\(error)\(front.map { "; C front: \(stopped($0))" } ?? "")")
        }
        let ring = try BackRing(attachingTo: file.ring, geometry: file.geometry, limits: RequestLimits(maximumSegments: 255, maximumIndirectSegments: WorkloadRequest.indirectSegments))
        let pacing = RingPacing(mode: configuration.mode, words: file.words, side: .back, seed: configuration.seed(front: false))
        return BackDriver(ring: ring, pacing: pacing, count: configuration.requests, batch: configuration.batch)
    }

    /// Our front on this thread, our back on a thread of its own (which creates its BackRing).
    private static func runBothOurs(_ configuration: RingRunConfiguration, file: RingSharedFile) throws -> RingRunOutcome {
        var front = ourFront(configuration, file: file)
        let backResult = ThreadResult()
        let thread = Thread { [file] in
            do {
                var back = try ourBack(configuration, file: file)
                try back.run()
                backResult.finish(notifications: back.pacing.notifications, waits: back.pacing.waits, error: nil)
            } catch {
                backResult.finish(notifications: 0, waits: 0, error: error)
            }
        }
        thread.start()
        let frontError: Error?
        do { try front.run(); frontError = nil } catch { frontError = error }
        let back = try backResult.wait(timeout: frontError == nil ? RingPacing.runTimeout : RingPacing.wakeupTimeout * 2)
        if let frontError { throw frontError }
        if let error = back.error { throw error }
        return RingRunOutcome(frontNotifications: front.pacing.notifications, backNotifications: back.notifications,
                              frontWaits: front.pacing.waits, backWaits: back.waits)
    }
}
