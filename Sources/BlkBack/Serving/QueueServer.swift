// One ring of a device: a thread that takes requests off it, and the I/O threads that perform them.

import BlkifABI
import BlkifRing
import Dispatch
import Foundation
import Synchronization
import XenPlatform

/// Serves one ring (one queue) of a connected device.
///
/// The ring's thread takes each request off the ring (one copy, then validation) and either
/// performs it itself (`ioThreads == 0`: best for a disk in the page cache, no hand-over) or
/// hands it to `ioThreads` threads, so several requests are in flight against the disk and
/// their responses may be written out of order. A write barrier or a flush waits for every
/// request before it and holds back every request after it. A frontend that breaks the ring
/// protocol stops this ring (``ServingEvents/protocolBroken``); one that notifies with nothing
/// to do is slowed down, never served by a busy loop. Every wait is bounded.
final class QueueServer: @unchecked Sendable {  // safe: the ring and the lists are behind mutexes; slots have one owner at a time
    /// The queue's number, for messages.
    let index: Int
    private let ring: LockedRing
    private let port: any XenPlatform.EventChannelPort
    private let executor: RequestExecutor
    private let slots: [RequestSlot]
    private let free: Mutex<SlotQueue>
    private let ready: Mutex<SlotQueue>
    private let readySignal = DispatchSemaphore(value: 0)
    private let completions = DispatchSemaphore(value: 0)
    private let inFlight = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    private let ioThreads: Int
    private let onProtocolError: @Sendable (String) -> Void

    /// Requests taken in one pass before the ring's thread publishes and looks again.
    static let batch = 32
    /// Responses written between two publications when the ring's thread performs requests itself.
    static let publishEvery = 8
    /// Consecutive wake-ups with no request after which each further one sleeps ``throttleSleep``.
    static let tolerableEmptyWakes = 8
    /// The pause that caps a flood of empty notifications at about a thousand wake-ups a second.
    static let throttleSleep: useconds_t = 1000
    /// The longest any of this ring's threads sleeps before looking at its stop flag.
    static let pollInterval = Duration.milliseconds(100)

    /// A server for `ring` with one slot per request it may have in flight, each sized for
    /// `segmentCapacity` segments.
    ///
    /// - Throws: ``PlatformError/systemCall(_:errno:)`` when a slot's copy buffer cannot be
    ///   reserved (copying executors only).
    init(index: Int, ring: consuming BackRing, port: any XenPlatform.EventChannelPort, executor: RequestExecutor,
         ioThreads: Int, segmentCapacity: Int, onProtocolError: @escaping @Sendable (String) -> Void) throws(PlatformError) {
        self.index = index
        let slotCount = ioThreads == 0 ? 1 : min(ring.entryCount, 128)
        self.ring = LockedRing(ring)
        self.port = port
        self.executor = executor
        self.ioThreads = ioThreads
        self.onProtocolError = onProtocolError
        let copying = executor.copier != nil
        slots = try (0..<slotCount).map { (_) throws(PlatformError) in try RequestSlot(segmentCapacity: segmentCapacity, copying: copying) }
        free = Mutex(SlotQueue(capacity: slotCount, full: true))
        ready = Mutex(SlotQueue(capacity: slotCount, full: false))
    }

    /// Starts the ring's thread and the I/O threads.
    func start() {
        let ringThread = Thread { [self] in
            serveRing()
            exited.signal()
        }
        ringThread.name = "blkback-q\(index)"
        ringThread.start()
        for worker in 0..<ioThreads {
            let thread = Thread { [self] in
                performRequests()
                exited.signal()
            }
            thread.name = "blkback-q\(index)-io\(worker)"
            thread.start()
        }
    }

    /// Stops every thread once the requests in flight are answered (bounded: 10 s in all).
    func stop() {
        stopping.store(true, ordering: .releasing)
        let deadline = DispatchTime.now() + .seconds(10)
        for _ in 0...ioThreads { _ = exited.wait(timeout: deadline) }
        executor.cache?.removeAll()
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    // MARK: The ring's thread

    private func serveRing() {
        var emptyWakes = 0
        while !isStopping {
            let served: Int
            do {
                served = try takeRequests()
                if served == 0, try ring.withLock({ (ring) throws(RingError) in try ring.finalCheckForRequests() }) { continue }
            } catch {
                return brokenRing("\(error)")
            }
            if served > 0 {
                emptyWakes = 0
                continue
            }
            do {
                guard try port.waitForEvent(timeout: Self.pollInterval) else { continue }
            } catch {
                return idle()  // the frontend's end is gone: nothing more will come on this ring
            }
            emptyWakes += 1
            if emptyWakes > Self.tolerableEmptyWakes {
                executor.statistics.throttledWakes.add(1, ordering: .relaxed)
                usleep(Self.throttleSleep)
            }
        }
        drain()
    }

    /// Takes up to ``batch`` requests and performs or hands out each; returns how many.
    private func takeRequests() throws(RingError) -> Int {
        var served = 0
        defer { if served > 0 { publish() } }
        while served < Self.batch {
            guard let slotIndex = freeSlot() else { break }
            let slot = slots[slotIndex]
            let took = try ring.withLock { (ring) throws(RingError) -> Bool in
                guard let copy = try ring.takeRequest() else { return false }
                executor.prepare(copy, into: slot)
                return true
            }
            guard took else {
                free.withLock { $0.push(slotIndex) }
                break
            }
            served += 1
            if ioThreads == 0 || slot.work.isOrdered || slot.work.isAnswered {
                if slot.work.isOrdered { drain() }
                answer(slot, status: executor.perform(slot), publish: served % Self.publishEvery == 0)
                free.withLock { $0.push(slotIndex) }
            } else {
                inFlight.add(1, ordering: .relaxed)
                ready.withLock { $0.push(slotIndex) }
                readySignal.signal()
            }
        }
        return served
    }

    /// A free slot, waiting (bounded) for an I/O thread to finish one when all are in flight.
    private func freeSlot() -> Int? {
        while !isStopping {
            if let slot = free.withLock({ $0.pop() }) { return slot }
            _ = completions.wait(timeout: .now() + .milliseconds(10))
        }
        return nil
    }

    /// Waits until no request is in flight (a barrier's or a flush's order; stopping).
    private func drain() {
        let deadline = ContinuousClock.now + .seconds(10)
        while inFlight.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            _ = completions.wait(timeout: .now() + .milliseconds(10))
        }
    }

    /// The frontend broke the ring protocol: report it once and touch the ring no more.
    private func brokenRing(_ message: String) {
        onProtocolError("queue \(index): \(message)")
        idle()
    }

    /// Waits for the stop, serving nothing.
    private func idle() {
        while !isStopping { usleep(10_000) }
        drain()
    }

    // MARK: The I/O threads

    private func performRequests() {
        while true {
            guard readySignal.wait(timeout: .now() + .milliseconds(100)) == .success else {
                if isStopping { return }
                continue
            }
            guard let slotIndex = ready.withLock({ $0.pop() }) else { continue }
            let slot = slots[slotIndex]
            answer(slot, status: executor.perform(slot), publish: true)
            free.withLock { $0.push(slotIndex) }
            inFlight.subtract(1, ordering: .releasing)
            completions.signal()
        }
    }

    // MARK: Answering

    /// Writes the slot's response; with `publish`, publishes every response written so far.
    private func answer(_ slot: RequestSlot, status: Status, publish: Bool) {
        let response = Response(id: slot.id, operation: slot.operation, status: status)
        let decision = ring.withLock { ring -> NotifyDecision in
            ring.writeResponse(response, entries: slot.entryCount)
            return publish ? ring.pushResponses() : .noNotification
        }
        executor.statistics.answered.add(1, ordering: .relaxed)
        if decision == .notifyPeer { port.notify() }
    }

    /// Publishes the responses written and notifies the frontend if it asked.
    private func publish() {
        if ring.withLock({ $0.pushResponses() }) == .notifyPeer { port.notify() }
    }
}

extension RequestWork {
    /// Whether the request was refused when it was taken (nothing to perform).
    var isAnswered: Bool {
        if case .answered = self { return true }
        return false
    }
}

/// The ring's indexes and private copy, shared by the ring's thread (taking requests) and the
/// I/O threads (writing responses), one at a time.
final class LockedRing: @unchecked Sendable {  // safe: `ring` is touched only inside `withLock`
    private var ring: BackRing
    private let lock = Mutex<Void>(())

    init(_ ring: consuming BackRing) { self.ring = ring }

    /// Runs `body` on the ring with the lock held.
    func withLock<Result, Failure: Error>(_ body: (inout BackRing) throws(Failure) -> Result) throws(Failure) -> Result {
        lock._unsafeLock()
        defer { lock._unsafeUnlock() }
        return try body(&ring)
    }
}
