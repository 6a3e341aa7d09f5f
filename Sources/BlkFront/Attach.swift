// Attaching: negotiate through XenStore, grant the rings, connect.

import BlkifABI
import Foundation
import XenBus
import XenPlatform
import XenStore

extension BlockDevice {
    /// Attaches the frontend of `device`: waits (bounded) for the toolstack's directory, then
    /// negotiates with the backend through `store` (a session of the frontend's domain), grants
    /// the rings and request pages through `grants` and `events`, and returns once Connected.
    ///
    /// - Parameters:
    ///   - store: a XenStore session acting as `device.frontendDomain`.
    ///   - grants: the frontend domain's grant table (its granting half).
    ///   - events: the frontend domain's event channels.
    ///   - options: what to ask for; the backend's offer may lower it.
    ///   - timeout: the longest wait for the directory and for each negotiation step.
    /// - Throws: ``BlockDeviceError/attachFailed(_:)`` naming what went wrong (the node, the value,
    ///   the backend's `error`).
    public static func attach<Events: EventChannelTable>(
        store: any XenStore, device: VirtualBlockDevice, grants: any GrantSharing, events: Events,
        options: FrontendOptions = FrontendOptions(), timeout: Duration = .seconds(20)
    ) throws(BlockDeviceError) -> BlockDevice {
        try waitForDirectory(of: device, in: store, timeout: timeout)
        let device = try linkedDevice(device, in: store)
        let setup = RingSetup(grants: grants, allocatePort: { domain throws(PlatformError) in try events.allocateUnboundPort(for: domain) },
                              backend: device.backendDomain, options: options)
        let driver = FrontendDriver(store: store, device: device, limits: options.limits,
                                    setUpRings: { choice in try setup.setUp(choice) }, tearDownRings: { setup.tearDown() })
        let control = DeviceControl(driver: driver, setup: setup)
        let reached: XenbusState
        do {
            try driver.start()
            // A frontend that used the device before left it Closed: negotiate afresh.
            if driver.state == .closed { try driver.reconnect() }
            reached = try driver.run(until: [.connected, .closing, .closed], timeout: timeout)
        } catch {
            control.release()
            throw .attachFailed("\(device): \(error)")
        }
        guard reached == .connected, let connection = driver.connection, let disk = driver.disk, let offer = driver.offer else {
            let reason = driver.closeReason ?? backendError(of: device, in: store) ?? "the device closed during negotiation"
            control.release()
            throw .attachFailed("\(device): \(reason)")
        }
        // Linux's blkback announces indirect descriptors only now: the slots follow its word.
        do {
            try setup.settle(indirectSegments: connection.requestLimits.maximumIndirectSegments)
        } catch {
            control.closeWithBackend()
            control.release()
            throw .attachFailed("\(device): granting the request pages for the \(connection.requestLimits.maximumIndirectSegments) "
                                + "indirect segments settled at Connected: \(error)")
        }
        let queues = setup.makeQueues(handle: DeviceHandle(UInt16(truncatingIfNeeded: device.id.rawValue)),
                                      onFailure: { [weak setup] error in setup?.failAll(error) })
        let attached = BlockDevice(device: device, connection: connection, disk: disk, features: offer.features,
                                   adjustments: driver.adjustments, queues: queues, control: control)
        for queue in queues { queue.start() }
        control.start()
        return attached
    }

    /// Waits until the toolstack has created the frontend's directory (its `state` node).
    private static func waitForDirectory(of device: VirtualBlockDevice, in store: any XenStore, timeout: Duration) throws(BlockDeviceError) {
        let deadline = ContinuousClock.now + timeout
        let state: XenStorePath
        do { state = try device.frontendPath.appending("state") } catch { throw .attachFailed("\(device): \(error)") }
        while true {
            do {
                if try store.readIfPresent(state) != nil { return }
            } catch {
                throw .attachFailed("\(device): reading \(state): \(error)")
            }
            guard ContinuousClock.now < deadline else {
                throw .attachFailed("\(device): \(state) did not appear within \(timeout) (is the backend serving this device?)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// The device as the frontend's `backend` node links it, as a real frontend finds its
    /// backend: the backend's domain and type come from there, whatever `device` assumed.
    private static func linkedDevice(_ device: VirtualBlockDevice, in store: any XenStore) throws(BlockDeviceError) -> VirtualBlockDevice {
        do {
            return try VirtualBlockDevice.located(frontendDomain: device.frontendDomain, id: device.id, in: store) ?? device
        } catch {
            throw .attachFailed("\(device): \(error)")
        }
    }

    /// The backend's `error` node, if it wrote one.
    private static func backendError(of device: VirtualBlockDevice, in store: any XenStore) -> String? {
        guard let path = try? device.backendPath.appending("error"), let message = try? store.readIfPresent(path) else { return nil }
        return "the backend says: \(message)"
    }
}
