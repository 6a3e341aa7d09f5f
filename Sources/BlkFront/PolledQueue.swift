// One queue driven by one thread: submit and reap, as with io_uring, without Swift concurrency.

import BlkifABI

/// One queue of a ``BlockDevice`` driven synchronously by one thread: submit reads and writes
/// tagged by the caller, then reap their answers. Nothing here allocates, and no task is resumed:
/// the thread that reaps takes the responses itself, sleeping on the event channel only when it
/// has nothing to do.
///
/// For a caller that wants the ring's own cost (a benchmark, a polled storage stack). While one
/// exists its queue is left to it (the async calls that pick this queue wait for slots as usual,
/// but their answers arrive only through this thread's reaps); ``close()`` hands it back.
/// Requests carry at most ``BlockDevice/maximumRequestBytes``. Not thread-safe: one thread.
public final class PolledQueue {
    private let queue: FrontQueue
    private let device: BlockDevice

    init(queue: FrontQueue, device: BlockDevice) {
        self.queue = queue
        self.device = device
        queue.setPolledMode(true)
    }

    /// Requests this queue holds in flight at most.
    public var depth: Int { queue.pages.count }

    /// Issues a read of `buffer.count` bytes at `offset` into `buffer`, answered under `tag`;
    /// `false` when every slot is in flight (reap first).
    /// - Throws: range errors, or the device's failure.
    public func submitRead(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, tag: UInt64) throws(BlockDeviceError) -> Bool {
        try device.checkRange(offset: offset, length: buffer.count, single: true)
        guard let slot = try queue.takeFreeSlot() else { return false }
        queue.issueTransfer(slot: slot, operation: .read, sector: Sector(offset / UInt64(Sector.size)), sectors: buffer.count / Sector.size,
                            readDestination: buffer.baseAddress, completion: .polled(tag: tag))
        return true
    }

    /// Issues a write of `buffer` at `offset`, answered under `tag`; `false` when every slot is
    /// in flight (reap first).
    /// - Throws: range errors, ``BlockDeviceError/readOnly``, or the device's failure.
    public func submitWrite(from buffer: UnsafeRawBufferPointer, at offset: UInt64, tag: UInt64) throws(BlockDeviceError) -> Bool {
        guard !device.isReadOnly else { throw .readOnly }
        try device.checkRange(offset: offset, length: buffer.count, single: true)
        guard let slot = try queue.takeFreeSlot(), let source = buffer.baseAddress else { return false }
        queue.pages[slot].data.copyMemory(from: source, byteCount: buffer.count)
        queue.issueTransfer(slot: slot, operation: .write, sector: Sector(offset / UInt64(Sector.size)), sectors: buffer.count / Sector.size,
                            readDestination: nil, completion: .polled(tag: tag))
        return true
    }

    /// Moves the answers that have arrived into `completions` (a read's data is already in its
    /// buffer); when none has, arms the event, sleeps on the event channel up to `timeout` and
    /// looks again.
    /// - Returns: how many were moved (0 after the timeout).
    /// - Throws: the device's failure (a protocol breach, a vanished backend).
    public func reap(into completions: UnsafeMutableBufferPointer<PolledCompletion>, waitingUpTo timeout: Duration) throws(BlockDeviceError) -> Int {
        // No spinning before sleeping: on two cores it takes the backend's CPU (measured: a
        // 200 µs look-again window cut random reads from 345 K to 110 K IOPS).
        let found = try queue.reapPolled(into: completions, armingEvent: false)
        if found > 0 { return found }
        let armed = try queue.reapPolled(into: completions, armingEvent: true)
        if armed > 0 { return armed }
        try queue.waitForNotification(timeout: timeout)
        return try queue.reapPolled(into: completions, armingEvent: false)
    }

    /// Hands the queue back to the device's response task.
    public func close() { queue.setPolledMode(false) }
}

extension BlockDevice {
    /// Drives queue `index` (0 ..< `connection.queues.count`) from the calling thread; see
    /// ``PolledQueue``.
    public func polledQueue(_ index: Int) -> PolledQueue {
        PolledQueue(queue: queues[index], device: self)
    }
}
