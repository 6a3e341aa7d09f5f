// A queue driven by a PolledQueue's thread instead of its response task.

import BlkifABI

extension FrontQueue {
    /// Hands the queue's responses to a ``PolledQueue`` (`true`) or back to the response task.
    func setPolledMode(_ on: Bool) {
        state.withLock { $0.polledMode = on }
    }

    /// A free slot now, or nil.
    func takeFreeSlot() throws(BlockDeviceError) -> Int? {
        try state.withLock { (state) throws(BlockDeviceError) -> Int? in
            if let failure = state.failure { throw failure }
            return state.free.popLast()
        }
    }

    /// Takes the published responses and moves the polled answers into `completions`; with
    /// `armingEvent`, asks for an event first when none is there. Returns how many were moved.
    func reapPolled(into completions: UnsafeMutableBufferPointer<PolledCompletion>, armingEvent: Bool) throws(BlockDeviceError) -> Int {
        if case .failed = takeResponses(armingEvent: armingEvent) { throw failure ?? .deviceFailed("queue \(index) stopped") }
        return state.withLock { state in
            let count = min(completions.count, state.polled.count)
            for index in 0..<count { completions[index] = state.polled[index] }
            state.polled.removeFirst(count)
            return count
        }
    }

    /// Sleeps on the event channel until the backend notifies or `timeout` passes.
    func waitForNotification(timeout: Duration) throws(BlockDeviceError) {
        do { _ = try port.waitForEvent(timeout: timeout) } catch {
            fail(.deviceFailed("the backend's event channel closed (\(error))"))
            throw failure ?? .deviceFailed("the backend's event channel closed")
        }
    }
}
