// One ring of a device: its request slots, its FrontRing, and the task that takes its responses.

import BlkifABI
import BlkifRing
import Foundation
import Synchronization
import XenPlatform

/// One queue of a device: a ring, its event channel, and a fixed set of request slots, each with
/// its own granted pages.
///
/// Tasks take a free slot (waiting for one when all are in flight), copy write data into its
/// pages, and issue the request under the lock. One task per queue takes the responses: it
/// checks each against the slot its id names, copies read data out, frees the slot and resumes
/// the waiting task. Nothing on this path allocates.
///
/// Every answer is checked: a response whose id was never issued or is already answered, whose
/// operation is not its request's, or an `rsp_prod` past the requests issued fails the queue's
/// device (``BlockDeviceError/backendViolation(_:)``), and every pending call throws.
final class FrontQueue: @unchecked Sendable {  // safe: mutable state is behind `state`; `slots` is only touched holding it
    /// This queue's number.
    let index: Int
    /// The ABI of the ring and of every request.
    let abi: ABI
    /// The `handle` field of every request.
    let handle: DeviceHandle
    /// Data pages per slot: the most pages one request transfers.
    let pagesPerRequest: Int

    /// The most bytes one request of `operation` carries: a write barrier is never indirect
    /// (`indirect_op` is a read or a write), so with indirect descriptors it carries what the
    /// header's 11 segments hold.
    func maximumBytes(of operation: BlkifABI.Operation) -> Int {
        let pages = usesIndirect && operation == .writeBarrier ? min(pagesPerRequest, ABI.segmentsPerHeader) : pagesPerRequest
        return pages * RingGeometry.pageSize
    }
    /// Whether requests above 11 segments use indirect descriptors (else segment blocks).
    let usesIndirect: Bool
    /// The ring's event channel.
    let port: any EventChannelPort
    /// Each slot's pages.
    let pages: [SlotPages]
    /// How long a request may stay unanswered.
    let requestTimeout: Duration

    let state: Mutex<QueueState>
    /// Slot states, touched only under `state`'s lock.
    private let slots: UnsafeMutableBufferPointer<SlotState>
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Called once when this queue fails the device (the device fails its other queues).
    private let onFailure: @Sendable (BlockDeviceError) -> Void

    /// What the lock guards besides the slots.
    struct QueueState: ~Copyable, @unchecked Sendable {  // safe: the ring's memory is touched only under the lock
        var ring: FrontRing
        var free: [Int]
        var waiters: SlotWaiters
        var failure: BlockDeviceError?
        var inFlight = 0
        var lastProgress = ContinuousClock.now
        /// Whether a ``PolledQueue`` drives this queue (the response task then stays away).
        var polledMode = false
        /// Answers to polled requests, until ``PolledQueue/reap(into:waitingUpTo:)`` takes them.
        var polled: [PolledCompletion] = []
    }

    init(index: Int, ring: FrontRing, port: any EventChannelPort, pages: [SlotPages], pagesPerRequest: Int, usesIndirect: Bool,
         handle: DeviceHandle, requestTimeout: Duration, onFailure: @escaping @Sendable (BlockDeviceError) -> Void) {
        self.index = index
        abi = ring.shared.geometry.abi
        self.port = port
        self.pages = pages
        self.pagesPerRequest = pagesPerRequest
        self.usesIndirect = usesIndirect
        self.handle = handle
        self.requestTimeout = requestTimeout
        self.onFailure = onFailure
        slots = .allocate(capacity: pages.count)
        slots.initialize(repeating: SlotState())
        var initial = QueueState(ring: ring, free: Array((0..<pages.count).reversed()), waiters: SlotWaiters(capacity: 256))
        initial.polled.reserveCapacity(pages.count)
        state = Mutex(initial)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    /// Requests in flight now.
    var inFlight: Int { state.withLock { $0.inFlight } }

    // MARK: Slots

    /// Takes a free slot, waiting while all are in flight.
    /// - Throws: the device's failure.
    func acquireSlot() async throws(BlockDeviceError) -> Int {
        let taken: Int? = try state.withLock { (state) throws(BlockDeviceError) -> Int? in
            if let failure = state.failure { throw failure }
            return state.free.popLast()
        }
        if let taken { return taken }
        let slot = await withUnsafeContinuation { (waiter: UnsafeContinuation<Int, Never>) in
            state.withLock { state in
                if state.failure != nil {
                    waiter.resume(returning: -1)
                } else if let slot = state.free.popLast() {
                    waiter.resume(returning: slot)
                } else {
                    state.waiters.append(waiter)
                }
            }
        }
        guard slot >= 0 else { throw failure ?? .deviceFailed("queue \(index) stopped") }
        return slot
    }

    /// Hands `slot` to the longest waiter, or back to the free list.
    private static func release(_ slot: Int, in state: inout QueueState) {
        if let waiter = state.waiters.popFirst() {
            waiter.resume(returning: slot)
        } else {
            state.free.append(slot)
        }
    }

    /// The failure that stopped this queue, if any.
    var failure: BlockDeviceError? { state.withLock { $0.failure } }

    /// Counts one more part of `group` as issued (before it is issued on this queue).
    func join(_ group: IOGroup) {
        state.withLock { _ in group.outstanding += 1 }
    }

    /// Waits until every part of `group` issued on this queue is answered (or failed).
    func wait(for group: IOGroup) async {
        await withUnsafeContinuation { (waiter: UnsafeContinuation<Void, Never>) in
            state.withLock { _ in
                group.waiter = waiter
                group.finishOne()  // the issuer's own hold
            }
        }
    }

    // MARK: Issuing

    /// Issues a read or write (barrier included) of `sectors` sectors at `sector` from `slot`'s
    /// pages (already filled for a write); a read's data is copied to `readDestination` on its
    /// response. `completion` is told the outcome.
    func issueTransfer(slot: Int, operation: BlkifABI.Operation, sector: Sector, sectors: Int,
                       readDestination: UnsafeMutableRawPointer?, completion: Completion) {
        let segments = SlotSegments(refs: pages[slot].dataRefs, sectors: sectors)
        // Only reads and writes travel indirect (`indirect_op`); a barrier is kept to the header.
        let indirect = usesIndirect && segments.count > ABI.segmentsPerHeader && (operation == .read || operation == .write)
        let entryCount = indirect ? 1 : abi.entriesForSegments(segments.count)
        if indirect, let page = pages[slot].indirect {
            let view = IndirectPageView(page)
            for (number, segment) in segments.enumerated() { view.setSegment(number, to: segment) }
        }
        issue(slot: slot, operation: operation, entries: entryCount, sector: sector, sectors: sectors,
              readDestination: readDestination, completion: completion) { entries, id in
            if indirect, let ref = pages[slot].indirectRef {
                IndirectRequestView(entries.entry(0), abi: abi).write(
                    indirectOperation: operation, segmentCount: UInt16(segments.count), handle: handle, id: id, sector: sector,
                    grants: CollectionOfOne(ref))
            } else {
                entries.writeRequest(operation: operation, handle: handle, id: id, sector: sector, segments: segments)
            }
        }
    }

    /// Issues a flush (``Operation/flushDiskCache``, or a barrier without data) from `slot`.
    func issueFlush(slot: Int, operation: BlkifABI.Operation, completion: Completion) {
        issue(slot: slot, operation: operation, entries: 1, sector: Sector(0), sectors: 0, readDestination: nil,
              completion: completion) { entries, id in
            entries.writeRequest(operation: operation, handle: handle, id: id, sector: Sector(0), segments: EmptyCollection())
        }
    }

    /// Issues a discard of `sectors` sectors at `sector` from `slot`.
    func issueDiscard(slot: Int, sector: Sector, sectors: UInt64, secure: Bool, completion: Completion) {
        issue(slot: slot, operation: .discard, entries: 1, sector: sector, sectors: Int(clamping: sectors), readDestination: nil,
              completion: completion) { entries, id in
            DiscardRequestView(entries.entry(0), abi: abi).write(
                flags: secure ? .secure : [], handle: handle, id: id, sector: sector, sectorCount: sectors)
        }
    }

    /// Records the slot's request, writes it into the ring with `write`, publishes it and
    /// notifies the backend if it asked. A failed queue completes it at once with the failure.
    private func issue(slot: Int, operation: BlkifABI.Operation, entries entryCount: Int, sector: Sector, sectors: Int,
                       readDestination: UnsafeMutableRawPointer?, completion: Completion,
                       write: (RingEntries, RequestID) -> Void) {
        let notify = state.withLock { state -> Bool in
            guard state.failure == nil, let entries = state.ring.reserveRequest(entries: entryCount) else {
                if state.failure == nil { failLocked(&state, .deviceFailed("queue \(index): no ring entries for a free slot")) }
                let failure = state.failure
                Self.complete(completion, status: .deviceFailed, in: &state, error: failure)
                Self.release(slot, in: &state)
                return false
            }
            slots[slot].generation &+= 1  // expected to wrap
            slots[slot].inFlight = true
            slots[slot].operation = operation
            slots[slot].entries = entryCount
            slots[slot].sector = sector
            slots[slot].sectors = sectors
            slots[slot].readDestination = readDestination
            slots[slot].completion = completion
            write(entries, slots[slot].id(slot: slot))
            if state.inFlight == 0 { state.lastProgress = .now }
            state.inFlight += 1
            return state.ring.pushRequests() == .notifyPeer
        }
        if notify { port.notify() }
    }

    // MARK: Responses

    /// Starts the task that takes this queue's responses.
    func start() {
        Task.detached { [self] in await serveResponses() }
    }

    /// Stops the response task and waits for it (at most `timeout`).
    func stop(timeout: Duration) {
        stopping.store(true, ordering: .releasing)
        port.notify()
        _ = finished.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000)))
    }

    /// How long the response task keeps looking (yielding its turn between looks) while
    /// requests are in flight and no response comes, before it sleeps on the event channel.
    static let pollingWindow = Duration.microseconds(200)

    /// The response task: takes responses; when none are left but requests are in flight, yields
    /// to the issuing tasks and looks again for up to ``pollingWindow``, then sleeps on the event
    /// channel; fails the device when the backend breaks the protocol, goes away, or leaves a
    /// request unanswered past ``requestTimeout``.
    ///
    /// A task rather than a thread, and polling while busy: a task resumed from a pool thread
    /// reuses that thread's cached dispatch continuation, while one resumed from another thread
    /// (ours, or the platform's event reactor after a sleep) costs heap allocations. Looking
    /// again for a moment keeps wake-ups, and so allocations, rare under load.
    private func serveResponses() async {
        defer { finished.signal() }
        var lastSeen = ContinuousClock.now
        while !stopping.load(ordering: .acquiring) {
            if state.withLock({ $0.polledMode }) {  // a PolledQueue takes the responses
                try? await Task.sleep(for: .milliseconds(10))
                continue
            }
            let polling = ContinuousClock.now - lastSeen < Self.pollingWindow
            switch takeResponses(armingEvent: !polling) {
            case .failed:
                return
            case .taken:
                lastSeen = .now
                continue
            case .none(let inFlight):
                if polling {
                    if inFlight > 0 {
                        await Task.yield()
                    } else {
                        lastSeen = .now - Self.pollingWindow  // idle: arm the event and look once more
                    }
                    continue
                }
            }
            do {
                if try await port.nextEvent(timeout: .milliseconds(100)) {
                    lastSeen = .now
                    continue
                }
            } catch {
                if !stopping.load(ordering: .acquiring) { fail(.deviceFailed("the backend's event channel closed (\(error))")) }
                return
            }
            checkProgress()
        }
    }

    /// What one look at the ring found.
    enum Look {
        /// The queue has failed.
        case failed
        /// Responses were taken, or are pending.
        case taken
        /// None; `inFlight` requests await an answer.
        case none(inFlight: Int)
    }

    /// Takes every published response. With `armingEvent`, asks for an event on the next
    /// response before the last look (`RING_FINAL_CHECK_FOR_RESPONSES`), so sleeping after
    /// `.none` misses nothing.
    func takeResponses(armingEvent: Bool) -> Look {
        state.withLock { state -> Look in
            guard state.failure == nil else { return .failed }
            do {
                var taken = 0
                while taken < 4 * slots.count, let response = try state.ring.takeResponse(entries: { entriesAnswered(by: $0) }) {
                    if let violation = finish(response, in: &state) {
                        failLocked(&state, .backendViolation(violation))
                        return .failed
                    }
                    taken += 1
                }
                if taken > 0 {
                    state.lastProgress = .now
                    return .taken
                }
                let pending = armingEvent ? try state.ring.finalCheckForResponses() : try state.ring.pendingResponses() > 0
                return pending ? .taken : .none(inFlight: state.inFlight)
            } catch {
                failLocked(&state, .backendViolation("queue \(index): \(error)"))
                return .failed
            }
        }
    }

    /// The entries the request `response` answers occupied, when its id names a slot in flight
    /// (else 1: the response is then refused by ``finish(_:in:)``).
    private func entriesAnswered(by response: Response) -> Int {
        guard let slot = slotIndex(of: response.id) else { return 1 }
        return slots[slot].entries
    }

    /// The slot `id` names if it is in flight under this generation.
    private func slotIndex(of id: RequestID) -> Int? {
        let slot = Int(truncatingIfNeeded: id.rawValue & 0xffff_ffff)
        guard slot < slots.count, slots[slot].inFlight, slots[slot].generation == UInt32(truncatingIfNeeded: id.rawValue >> 32) else {
            return nil
        }
        return slot
    }

    /// Completes the slot `response` answers: copies read data out, frees the slot, resumes the
    /// issuer. Returns why the response is refused instead, if it is.
    private func finish(_ response: Response, in state: inout QueueState) -> String? {
        guard let slot = slotIndex(of: response.id) else {
            return "queue \(index): response \(response.id) answers no request in flight (never issued, or already answered)"
        }
        let request = slots[slot]
        guard response.operation == request.operation else {
            return "queue \(index): response \(response.id) carries operation \(response.operation), its request was \(request.operation)"
        }
        slots[slot].inFlight = false
        slots[slot].completion = .none
        if response.status == .okay, let destination = request.readDestination {
            destination.copyMemory(from: pages[slot].data, byteCount: request.sectors * Sector.size)
        }
        state.inFlight -= 1
        Self.complete(request.completion, status: response.status, in: &state,
                      error: Self.error(for: response.status, operation: request.operation, sector: request.sector, sectors: request.sectors))
        Self.release(slot, in: &state)
        return nil
    }

    /// The error a status means for a request, nil for success.
    static func error(for status: Status, operation: BlkifABI.Operation, sector: Sector, sectors: Int) -> BlockDeviceError? {
        switch status {
        case .okay: nil
        case .error: .ioError(operation, sector: sector, sectors: sectors)
        default: .rejected(operation, status: status)
        }
    }

    /// Tells a request's issuer its outcome.
    private static func complete(_ completion: Completion, status: Status, in state: inout QueueState, error: BlockDeviceError?) {
        switch completion {
        case .none: break
        case .single(let waiter): waiter.resume(returning: status)
        case .part(let group): group.finishOne(failing: error)
        case .polled(let tag): state.polled.append(PolledCompletion(tag: tag, status: status))
        }
    }

    // MARK: Failure

    /// Fails the device if a request has waited longer than ``requestTimeout``.
    private func checkProgress() {
        state.withLock { state in
            guard state.failure == nil, state.inFlight > 0, ContinuousClock.now - state.lastProgress > requestTimeout else { return }
            failLocked(&state, .deviceFailed("queue \(index): \(state.inFlight) requests unanswered for \(requestTimeout)"))
        }
    }

    /// Fails this queue: every request in flight and every waiter is resumed with `error`.
    func fail(_ error: BlockDeviceError) {
        state.withLock { state in failLocked(&state, error) }
    }

    /// ``fail(_:)`` with the lock held. Slots in flight are not freed: the backend may still
    /// write their pages.
    private func failLocked(_ state: inout QueueState, _ error: BlockDeviceError) {
        guard state.failure == nil else { return }
        state.failure = error
        for slot in slots.indices where slots[slot].inFlight {
            slots[slot].inFlight = false
            let completion = slots[slot].completion
            slots[slot].completion = .none
            Self.complete(completion, status: .deviceFailed, in: &state, error: error)
        }
        state.inFlight = 0
        while let waiter = state.waiters.popFirst() { waiter.resume(returning: -1) }
        let report = onFailure
        DispatchQueue.global().async { report(error) }
    }
}
