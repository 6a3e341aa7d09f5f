// The thread that keeps a connected device's XenBus state: it notices the backend closing, and
// walks the close handshake when asked.

import Foundation
import Synchronization
import XenBus

/// Owns a connected device's ``FrontendDriver`` (which is not thread-safe) on one thread.
///
/// While connected it advances the driver whenever the backend's state changes; when the backend
/// closes (or its directory vanishes) it fails the device's queues with the reason. ``close(queues:timeout:)``
/// asks it to walk the close handshake; every wait is bounded.
final class DeviceControl: @unchecked Sendable {  // safe: `driver` is used by the control thread only once started
    private let driver: FrontendDriver
    private let setup: RingSetup
    private let closeRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Longest wait for the backend at each step of the close handshake.
    static let handshakeTimeout = Duration.seconds(5)

    init(driver: FrontendDriver, setup: RingSetup) {
        self.driver = driver
        self.setup = setup
    }

    /// Starts the control thread.
    func start() {
        let thread = Thread { [self] in control() }
        thread.name = "blkfront-xenbus"
        thread.start()
    }

    private func control() {
        defer {
            release()
            finished.signal()
        }
        while !closeRequested.load(ordering: .acquiring) {
            do {
                try driver.run(until: [.closing, .closed], timeout: .milliseconds(100))
            } catch .timedOut {
                continue
            } catch {
                setup.failAll(.deviceFailed("xenstore: \(error)"))
                return
            }
            let reason = driver.closeReason ?? "the backend closed the device"
            setup.failAll(.deviceFailed(reason))
            _ = try? driver.run(until: [.closed], timeout: Self.handshakeTimeout)
            return
        }
        closeWithBackend()
    }

    /// Asks the backend to close the device and waits (bounded) for the handshake to reach
    /// Closed. Before ``start()`` the attaching thread may call it; after, the control thread.
    func closeWithBackend() {
        driver.requestClose()
        _ = try? driver.run(until: [.closed], timeout: Self.handshakeTimeout)
    }

    /// Stops watching the backend and takes back every grant (waiting at most 2 s for the
    /// backend to unmap). Before ``start()`` the attaching thread may call it; after, the
    /// control thread.
    func release() {
        driver.stop()
        setup.tearDown()
        setup.releaseRemaining(within: .seconds(2))
    }

    /// Waits (at most `timeout`) for the requests in flight, then closes the device and waits
    /// for the control thread to finish the handshake.
    func close(queues: [FrontQueue], timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        while queues.contains(where: { $0.inFlight > 0 }), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.001)
        }
        setup.failAll(.deviceFailed("the device was closed"))
        closeRequested.store(true, ordering: .releasing)
        _ = finished.wait(timeout: .now() + .seconds(Int(Self.handshakeTimeout.components.seconds) + 5))
    }
}
