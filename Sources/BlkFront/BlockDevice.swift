// The async block-device API: read, write, flush and discard at byte offsets.

import BlkifABI
import Synchronization
import XenBus

/// A connected virtual block device, used from Swift concurrency.
///
/// Offsets and lengths are bytes, multiples of 512. Each call returns once the backend has
/// answered every request it took: a large transfer is split by the negotiated segment and size
/// limits (segment blocks or indirect descriptors, as negotiated), its parts in flight at once.
/// Calls may run concurrently from many tasks, up to the negotiated queue depth per queue (more
/// wait for a free slot); queues are used in turn. Buffers must stay valid until the call returns.
///
/// The backend is not trusted: a response that breaks the protocol fails the device
/// (``BlockDeviceError/backendViolation(_:)``), and every pending and later call throws;
/// nothing waits forever (a request unanswered past the options' `requestTimeout` fails it too).
public final class BlockDevice: Sendable {
    /// The device's two ends.
    public let device: VirtualBlockDevice
    /// What negotiation agreed.
    public let connection: NegotiatedConnection
    /// The disk the backend published.
    public let disk: DiskProperties
    /// What the backend offers beyond reads and writes.
    public let features: BackendFeatures
    /// What the frontend took differently from the offer, and why.
    public let adjustments: [Adjustment]

    let queues: [FrontQueue]
    let control: DeviceControl
    private let nextQueue = Atomic<UInt>(0)

    init(device: VirtualBlockDevice, connection: NegotiatedConnection, disk: DiskProperties, features: BackendFeatures,
         adjustments: [Adjustment], queues: [FrontQueue], control: DeviceControl) {
        self.device = device
        self.connection = connection
        self.disk = disk
        self.features = features
        self.adjustments = adjustments
        self.queues = queues
        self.control = control
    }

    /// The disk's size in bytes.
    public var capacity: UInt64 { disk.sectors.rawValue &* UInt64(Sector.size) }

    /// Whether writes are refused (`info` has `VDISK_READONLY`).
    public var isReadOnly: Bool { disk.info.contains(.readOnly) }

    /// Bytes one request carries at most; larger transfers are split into requests of this size.
    public var maximumRequestBytes: Int { queues[0].pagesPerRequest * RingGeometry.pageSize }

    /// Requests in flight per queue at most.
    public var queueDepth: Int { queues[0].pages.count }

    /// Why the device failed, if it has.
    public var failure: BlockDeviceError? {
        for queue in queues { if let failure = queue.failure { return failure } }
        return nil
    }

    // MARK: Reads and writes

    /// Reads `buffer.count` bytes at `offset` into `buffer`.
    /// - Throws: ``BlockDeviceError`` naming the misaligned or out-of-range value, the failed
    ///   request, or the device's failure.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) async throws(BlockDeviceError) {
        try checkRange(offset: offset, length: buffer.count)
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        try await transfer(.read, offset: offset, length: buffer.count) { done in (base + done, nil) }
    }

    /// Writes `buffer` at `offset`; with `barrier`, as a write barrier (`feature-barrier`):
    /// every earlier write completes before it, later ones after it.
    /// - Throws: ``BlockDeviceError`` as ``read(into:at:)``, and ``BlockDeviceError/readOnly``.
    public func write(from buffer: UnsafeRawBufferPointer, at offset: UInt64, barrier: Bool = false) async throws(BlockDeviceError) {
        guard !isReadOnly else { throw .readOnly }
        if barrier, !features.barrier { throw .notOffered(.writeBarrier, feature: "feature-barrier") }
        try checkRange(offset: offset, length: buffer.count)
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        try await transfer(barrier ? .writeBarrier : .write, offset: offset, length: buffer.count) { done in
            (nil, UnsafeRawPointer(base + done))
        }
    }

    /// Commits the backend's write cache: `BLKIF_OP_FLUSH_DISKCACHE` (`feature-flush-cache`),
    /// else a write barrier without data (`feature-barrier`).
    /// - Throws: ``BlockDeviceError/notOffered(_:feature:)`` when the backend offers neither.
    public func flush() async throws(BlockDeviceError) {
        let operation: Operation
        if features.flushCache { operation = .flushDiskCache }
        else if features.barrier { operation = .writeBarrier }
        else { throw .notOffered(.flushDiskCache, feature: "feature-flush-cache") }
        let queue = pickQueue()
        let slot = try await queue.acquireSlot()
        try await single(operation, sector: Sector(0), sectors: 0) { completion in
            queue.issueFlush(slot: slot, operation: operation, completion: completion)
        }
    }

    /// Tells the backend `length` bytes at `offset` are unused (`feature-discard`); with `secure`,
    /// that they must become unrecoverable (`discard-secure`). The backend rounds to its
    /// granularity.
    /// - Throws: ``BlockDeviceError/notOffered(_:feature:)``, ``BlockDeviceError/readOnly``, range errors.
    public func discard(at offset: UInt64, length: Int, secure: Bool = false) async throws(BlockDeviceError) {
        guard let support = features.discard else { throw .notOffered(.discard, feature: "feature-discard") }
        if secure, !support.secure { throw .notOffered(.discard, feature: "discard-secure") }
        guard !isReadOnly else { throw .readOnly }
        try checkRange(offset: offset, length: length)
        guard length > 0 else { return }
        let queue = pickQueue()
        let slot = try await queue.acquireSlot()
        let sector = Sector(offset / UInt64(Sector.size)), sectors = UInt64(length / Sector.size)
        try await single(.discard, sector: sector, sectors: Int(sectors)) { completion in
            queue.issueDiscard(slot: slot, sector: sector, sectors: sectors, secure: secure, completion: completion)
        }
    }

    /// Closes the device: waits (at most `timeout`) for calls in flight, then walks the XenBus
    /// close handshake (each step bounded) and releases the rings and grants. Later calls throw.
    /// Blocks the calling thread: call it after the device's tasks are done.
    public func close(timeout: Duration = .seconds(10)) {
        control.close(queues: queues, timeout: timeout)
    }

    // MARK: Splitting and waiting

    /// Splits `length` bytes at `offset` into requests of at most ``maximumRequestBytes`` (a
    /// barrier: what fits a request's header when indirect descriptors carry the rest) on one
    /// queue; `locate(done)` gives the read destination or write source of the part that starts
    /// `done` bytes in.
    private func transfer(_ operation: Operation, offset: UInt64, length: Int,
                          locate: (Int) -> (UnsafeMutableRawPointer?, UnsafeRawPointer?)) async throws(BlockDeviceError) {
        let queue = pickQueue()
        let chunk = queue.maximumBytes(of: operation)
        let firstSector = Sector(offset / UInt64(Sector.size))
        if length <= chunk {
            let slot = try await queue.acquireSlot()
            let (destination, source) = locate(0)
            if let source { queue.pages[slot].data.copyMemory(from: source, byteCount: length) }
            try await single(operation, sector: firstSector, sectors: length / Sector.size) { completion in
                queue.issueTransfer(slot: slot, operation: operation, sector: firstSector, sectors: length / Sector.size,
                                    readDestination: destination, completion: completion)
            }
            return
        }
        let group = IOGroup()
        var done = 0
        var issueFailure: BlockDeviceError?
        while done < length {
            let slot: Int
            do { slot = try await queue.acquireSlot() } catch { issueFailure = error; break }
            let part = min(chunk, length - done)
            let (destination, source) = locate(done)
            if let source { queue.pages[slot].data.copyMemory(from: source, byteCount: part) }
            queue.join(group)
            queue.issueTransfer(slot: slot, operation: operation, sector: Sector(firstSector.rawValue + UInt64(done / Sector.size)),
                                sectors: part / Sector.size, readDestination: destination, completion: .part(of: group))
            done += part
        }
        await queue.wait(for: group)
        if let failure = issueFailure ?? group.failure { throw failure }
    }

    /// Issues one request with `issue` and waits for its answer.
    private func single(_ operation: Operation, sector: Sector, sectors: Int,
                        issue: (Completion) -> Void) async throws(BlockDeviceError) {
        let status = await withUnsafeContinuation { (waiter: UnsafeContinuation<Status, Never>) in issue(.single(waiter)) }
        if status == .deviceFailed { throw failure ?? .deviceFailed("the device stopped") }
        if let error = FrontQueue.error(for: status, operation: operation, sector: sector, sectors: sectors) { throw error }
    }

    /// The next queue in turn.
    private func pickQueue() -> FrontQueue {
        queues.count == 1 ? queues[0] : queues[Int(nextQueue.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(queues.count))]
    }

    /// Checks that `length` bytes at `offset` are sector-aligned and inside the disk (and, for
    /// `single`, fit one request).
    func checkRange(offset: UInt64, length: Int, single: Bool = false) throws(BlockDeviceError) {
        guard length >= 0, offset % UInt64(Sector.size) == 0, length % Sector.size == 0 else {
            throw .misaligned(offset: offset, length: length)
        }
        if single, length > maximumRequestBytes || length == 0 { throw .tooLarge(length: length, limit: maximumRequestBytes) }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(length))
        guard !overflow, end <= capacity else { throw .beyondEnd(offset: offset, length: length, capacity: capacity) }
    }
}
