// One served device: its XenBus state machine, its storage and its rings.

import BlkifABI
import BlkifRing
import Dispatch
import Foundation
import Synchronization
import XenBus
import XenPlatform
import XenStore

/// The backend of one virtual block device: publishes the offer and the disk, follows the
/// XenBus state machine, maps the frontend's rings when it connects and serves each on its own
/// thread (``QueueServer``), unmaps them when it closes, and connects again if it comes back.
///
/// A frontend that breaks the ring protocol gets this device closed with an `error` node
/// naming what it did; other devices of the same process are not affected. The device ends
/// when its backend directory is removed (``Toolstack/removeDevice(_:from:)``, `blkif detach`)
/// or when ``stop()`` is called.
public final class BackendDevice: @unchecked Sendable {  // safe: the driver and the rings belong to the control thread
    /// The device served.
    public let device: VirtualBlockDevice
    /// What it serves.
    public let storage: any BlockStorage
    /// What it offers and how it serves (``DataPath/mapping`` when the platform cannot copy).
    public let configuration: BackendConfiguration
    /// What its rings have done.
    public let statistics = ServingStatistics()

    private let store: any XenStore
    private let mapper: any GrantMapping
    /// The platform's grant copy, when the data path is ``DataPath/copying``.
    private let copier: (any GrantCopying)?
    private let bind: (DomainID, EventPort) throws(PlatformError) -> any XenPlatform.EventChannelPort
    private let protocolError = Mutex<String?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    private let lastState = Atomic<Int>(0)
    private let closeMessage = Mutex<String?>(nil)
    private var driver: BackendDriver?
    private var connected: [(server: QueueServer, ring: MappedPages, port: any XenPlatform.EventChannelPort)] = []

    /// How long the control thread sleeps between looks when no watch event comes (watch events
    /// wake it at once; each look costs a few XenStore round trips, independent of the I/O load).
    static let pollInterval = Duration.milliseconds(200)

    /// A backend for `device` acting through `store` (a session of the backend's domain, its own:
    /// the driver drains the session's watch events), mapping grants and binding ports on `platform`
    /// (and copying through it, when `configuration` asks for ``DataPath/copying`` and it can).
    public init<Platform: GrantMapping & EventChannelTable>(
        device: VirtualBlockDevice, store: any XenStore, platform: Platform, storage: any BlockStorage,
        configuration: BackendConfiguration = BackendConfiguration()
    ) {
        self.device = device
        self.store = store
        self.storage = storage
        var configuration = configuration
        copier = configuration.dataPath == .copying ? platform as? any GrantCopying : nil
        if copier == nil { configuration.dataPath = .mapping }
        self.configuration = configuration
        mapper = platform
        bind = { (domain, port) throws(PlatformError) in try platform.bind(to: domain, port: port) }
    }

    /// The device's XenBus state as last written.
    public var state: XenbusState { XenbusState(rawValue: lastState.load(ordering: .acquiring)) ?? .unknown }

    /// Why the device closed when it was not asked to, if it did.
    public var closeReason: String? { closeMessage.withLock { $0 } }

    /// The disk published: the storage's size in sectors, read-only when the storage is.
    public var disk: DiskProperties {
        DiskProperties(sectors: Sector(storage.byteCount / 512), info: storage.isReadOnly ? .readOnly : [])
    }

    /// Starts the state machine (publishes the offer) and the control thread.
    /// - Throws: ``XenBusError`` when the store refuses the watch or the first step.
    public func start() throws(XenBusError) {
        let driver = BackendDriver(
            store: store, device: device, offer: configuration.offer(for: storage), disk: disk,
            connectRings: { [unowned self] connection in try connect(connection) },
            disconnectRings: { [unowned self] in disconnect() })
        self.driver = driver
        try driver.start()
        try step(driver)
        let thread = Thread { [self] in
            control()
            exited.signal()
        }
        thread.name = "blkback-\(device.id)"
        thread.start()
    }

    /// Stops serving at once (the process is ending): the rings are unmapped and the driver
    /// stops watching; the store keeps the last state written. Bounded; idempotent.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = exited.wait(timeout: .now() + .seconds(15))
    }

    /// Waits until the control thread ends (the device was removed, or ``stop()``), up to `timeout`;
    /// true when it did.
    public func wait(timeout: Duration) -> Bool {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        guard exited.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success else { return false }
        exited.signal()  // let a later wait or stop see it too
        return true
    }

    // MARK: The control thread

    private func control() {
        guard let driver else { return }
        defer {
            disconnect()
            driver.stop()
        }
        while !stopping.load(ordering: .acquiring) {
            if let message = protocolError.withLock({ $0.take() }) {
                try? store.write(device.backendPath.appending("error"), message)
                closeMessage.withLock { $0 = message }
                driver.requestClose()
            }
            do {
                try step(driver)
                guard try store.readIfPresent(device.backendPath.appending("state")) != nil else { return }  // removed
            } catch where Self.isTimeout(error) {
                // A busy xenstored delays the handshake, nothing more: the rings keep serving and
                // the next pass asks again. Only a lost connection ends the device.
                statistics.storeTimeouts.add(1, ordering: .relaxed)
            } catch {
                closeMessage.withLock { $0 = "the store failed: \(error)" }
                return
            }
            _ = store.events.next(timeout: Self.pollInterval)
            _ = store.events.drain()
        }
    }

    /// Whether `error` is a store call that got no reply in time (the connection still open).
    private static func isTimeout(_ error: any Error) -> Bool {
        switch error {
        case XenStoreError.timedOut, XenBusError.store(.timedOut): true
        default: false
        }
    }

    private func step(_ driver: BackendDriver) throws(XenBusError) {
        let reached = try driver.advance()
        lastState.store(reached.rawValue, ordering: .releasing)
        if let reason = driver.closeReason { closeMessage.withLock { $0 = reason } }
    }

    /// Maps every queue's ring, binds its port and starts serving it; undoes all of it on a failure.
    private func connect(_ connection: NegotiatedConnection) throws {
        let limits = disk.requestLimits(of: connection)
        let frontend = device.frontendDomain
        let segmentCapacity = max(limits.maximumSegments, limits.maximumIndirectSegments)
        do {
            for (index, queue) in connection.queues.enumerated() {
                let pages = try mapper.map(queue.ringReferences, grantedBy: frontend, access: .readWrite)
                var port: (any XenPlatform.EventChannelPort)?
                let server: QueueServer
                do {
                    let bound = try bind(frontend, EventPort(queue.eventChannel.rawValue))
                    port = bound
                    let ring = try BackRing(attachingTo: pages.base, geometry: connection.geometry, limits: limits)
                    let executor = RequestExecutor(
                        storage: storage, mapper: mapper, copier: copier, granter: frontend,
                        persistentGrants: connection.persistentGrants ? configuration.persistentGrantLimit : nil,
                        statistics: statistics)
                    server = try QueueServer(
                        index: index, ring: ring, port: bound, executor: executor, ioThreads: configuration.ioThreads,
                        segmentCapacity: segmentCapacity,
                        onProtocolError: { [weak self] message in self?.reportProtocolError(message) })
                    connected.append((server, pages, bound))
                } catch {
                    // Nothing of this queue is in `connected` yet: undo it here.
                    port?.close()
                    try? mapper.unmap(pages)
                    throw error
                }
                server.start()
            }
        } catch {
            disconnect()
            throw error
        }
    }

    /// Stops every ring's threads, then unmaps the rings and closes the ports.
    private func disconnect() {
        for (server, _, _) in connected { server.stop() }
        for (_, ring, port) in connected {
            port.close()
            try? mapper.unmap(ring)
        }
        connected.removeAll()
    }

    /// Called from a ring's thread: the control thread closes the device with `message`.
    private func reportProtocolError(_ message: String) {
        protocolError.withLock { $0 = "frontend broke the ring protocol: \(message)" }
    }
}
