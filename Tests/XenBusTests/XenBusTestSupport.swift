// Shared pieces of the XenBus tests: a device on an in-memory store with both ends' sessions,
// stand-in rings, and a pump that steps both drivers in one thread.

import BlkifABI
import Foundation
import XCTest
import XenBus
import XenStore

/// The frontend's domain in every test; the backend is domain 0.
let guestDomain = DomainID(5)

/// Stand-in grant references and ports: queue q's page p is `100 * (q + 1) + p`, its port `7 + q`.
func standInRings(_ choice: TransportChoice) -> [QueueRing] {
    (0..<choice.queueCount).map { queue in standInRing(queue: queue, pages: choice.geometry.pageCount) }
}

/// Queue `queue`'s stand-in ring of `pages` pages.
func standInRing(queue: Int, pages: Int) -> QueueRing {
    let first = UInt32(100 * (queue + 1))
    let references: [GrantRef] = (0..<UInt32(pages)).map { GrantRef(first + $0) }
    return QueueRing(ringReferences: references, eventChannel: EventChannelPort(UInt32(7 + queue)))
}

/// One device on a fresh in-memory store: the toolstack's (dom0) session, the backend's (dom0)
/// and the frontend's (domain 5, permissions enforced).
final class DeviceFixture {
    let store = InMemoryXenStore()
    let backendStore: InMemoryXenStore
    let frontendStore: InMemoryXenStore
    let device = VirtualBlockDevice(frontendDomain: guestDomain, id: DeviceID(51712))
    let disk = DiskProperties(sectors: Sector(8192), info: [.removable])

    init() throws {
        backendStore = store.session(as: .dom0)
        frontendStore = store.session(as: guestDomain)
        try Toolstack.createDevice(device, configuration: DeviceConfiguration(params: "/images/disk.img"), in: store)
    }

    func backend(offer: BackendOffer = BackendOffer(), schemes: RingSizeSchemes = .both) throws -> BackendDriver {
        let driver = BackendDriver(store: backendStore, device: device, offer: offer, disk: disk, schemes: schemes)
        try driver.start()
        return driver
    }

    func frontend(limits: FrontendLimits = FrontendLimits(ringPages: 4), schemes: RingSizeSchemes = .both) throws -> FrontendDriver {
        let driver = FrontendDriver(store: frontendStore, device: device, limits: limits, schemes: schemes, setUpRings: standInRings)
        try driver.start()
        return driver
    }

    /// A node of the frontend's directory, as the toolstack reads it.
    func frontendNode(_ name: String) throws -> String? { try store.readIfPresent(device.frontendPath.appending(name)) }
    /// A node of the backend's directory, as the toolstack reads it.
    func backendNode(_ name: String) throws -> String? { try store.readIfPresent(device.backendPath.appending(name)) }

    /// Writes nodes into the frontend's directory as the frontend's domain (a scripted peer).
    func writeFrontend(_ nodes: [String: String]) throws {
        for (name, value) in nodes { try frontendStore.write(device.frontendPath.appending(name), value) }
    }

    /// Writes nodes into the backend's directory (a scripted peer).
    func writeBackend(_ nodes: [String: String]) throws {
        for (name, value) in nodes { try backendStore.write(device.backendPath.appending(name), value) }
    }

    /// Removes a node of the backend's directory as the backend's domain.
    func removeBackend(_ name: String) throws { try backendStore.rm(device.backendPath.appending(name)) }
}

/// Steps both drivers alternately until `done` holds; fails the test after `timeout`.
func pump(_ front: FrontendDriver?, _ back: BackendDriver?, timeout: Duration = .seconds(5),
          file: StaticString = #filePath, line: UInt = #line, until done: () -> Bool) throws {
    let deadline = ContinuousClock.now + timeout
    while !done() {
        try back?.advance()
        try front?.advance()
        if done() { return }
        guard ContinuousClock.now < deadline else {
            XCTFail("no progress within \(timeout): frontend \(front.map { "\($0.state)" } ?? "-"), backend \(back.map { "\($0.state)" } ?? "-")",
                    file: file, line: line)
            return
        }
        usleep(200)
    }
}

/// Connects both ends; fails the test if they do not both reach Connected.
func connect(_ front: FrontendDriver, _ back: BackendDriver, file: StaticString = #filePath, line: UInt = #line) throws {
    try pump(front, back, file: file, line: line) { front.state == .connected && back.state == .connected }
}
