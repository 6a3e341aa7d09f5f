// xenbus-peer: one end of a block device (backend or frontend) in its own process, talking to a
// XenStore over its Unix socket. The three-process test runs blkif-xenstored, one backend and one
// frontend; the ring pages are not shared here, so the grant references and ports are stand-ins.

import ArgumentParser
import BlkifABI
import Foundation
import XenBus
import XenStore

/// The options both ends take.
struct DeviceOptions: ParsableArguments {
    @Option(help: "The XenStore socket.")
    var socket: String
    @Option(help: "The frontend's domain id.")
    var frontendDomain: UInt16 = 5
    @Option(help: "The device number (devid).")
    var device: UInt32 = 51712
    @Option(help: "Seconds each wait may take.")
    var timeout: Int = 20
    @Flag(help: "Act as the frontend's domain through its own socket (<socket>.d<domain>), permissions enforced.")
    var asFrontendDomain = false

    var virtualDevice: VirtualBlockDevice {
        VirtualBlockDevice(frontendDomain: DomainID(frontendDomain), id: DeviceID(device))
    }
    var waitLimit: Duration { .seconds(timeout) }
    func store() throws -> XenStoreClient {
        let domain = asFrontendDomain ? DomainID(frontendDomain) : .dom0
        return try XenStoreClient(domain: domain, serverSocket: socket, timeout: .seconds(5))
    }
}

/// One line a test can compare between the two ends.
func summary(_ connection: NegotiatedConnection) -> String {
    "pages=\(connection.geometry.pageCount) entries=\(connection.geometry.entryCount) requests=\(connection.maximumRequests) "
        + "segments=\(connection.requestLimits.maximumSegments) size=\(connection.maximumRequestSize) queues=\(connection.queues.count) "
        + "abi=\(connection.abi) refs=\(connection.queues.map { $0.ringReferences.map(\.rawValue).map(String.init).joined(separator: ",") }.joined(separator: ";"))"
}

/// Prints at once, so a supervising test sees each line as it happens.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

struct Peer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xenbus-peer", abstract: "One end of a blkif device over a XenStore socket.",
        subcommands: [Backend.self, Frontend.self])
}

struct Backend: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the device: offer, accept, connect, close when the frontend does.")
    @OptionGroup var options: DeviceOptions
    @Option(help: "Most ring pages offered.")
    var maxRingPages = 16
    @Option(help: "Disk size in 512-byte sectors.")
    var sectors: UInt64 = 2048

    func run() throws {
        let driver = BackendDriver(store: try options.store(), device: options.virtualDevice,
                                   offer: BackendOffer(maximumRingPages: maxRingPages), disk: DiskProperties(sectors: Sector(sectors)))
        try driver.start()
        guard try driver.run(until: [.connected, .closed], timeout: options.waitLimit) == .connected, let connection = driver.connection else {
            throw ValidationError("backend closed: \(driver.closeReason ?? "no reason")")
        }
        say("backend connected \(summary(connection))")
        try driver.run(until: [.closed], timeout: options.waitLimit)
        say("backend closed \(driver.closeReason ?? "cleanly")")
    }
}

struct Frontend: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Use the device: negotiate, connect, close when the control node appears.")
    @OptionGroup var options: DeviceOptions
    @Option(help: "Ring pages wanted.")
    var ringPages = 4
    @Option(help: "A XenStore path; the frontend closes the device once it exists (a guest's unplug).")
    var closeOn: String

    func run() throws {
        let store = try options.store()
        let driver = FrontendDriver(store: store, device: options.virtualDevice, limits: FrontendLimits(ringPages: ringPages),
                                    setUpRings: Self.standInRings)
        try driver.start()
        guard try driver.run(until: [.connected, .closed], timeout: options.waitLimit) == .connected, let connection = driver.connection,
              let disk = driver.disk else {
            throw ValidationError("frontend closed: \(driver.closeReason ?? "no reason")")
        }
        say("frontend connected \(summary(connection)) sectors=\(disk.sectors.rawValue)")
        try waitForNode(try XenStorePath(closeOn), in: store)
        driver.requestClose()
        try driver.run(until: [.closed], timeout: options.waitLimit)
        say("frontend closed \(driver.closeReason ?? "cleanly")")
    }

    /// Stand-in grant references and ports: queue q's page p is `100 * (q + 1) + p`, its port `7 + q`.
    private static func standInRings(_ choice: TransportChoice) -> [QueueRing] {
        (0..<choice.queueCount).map { queue in
            let first = UInt32(100 * (queue + 1))
            let references: [GrantRef] = (0..<UInt32(choice.geometry.pageCount)).map { GrantRef(first + $0) }
            return QueueRing(ringReferences: references, eventChannel: EventChannelPort(UInt32(7 + queue)))
        }
    }

    /// Waits (bounded) until `path` exists.
    private func waitForNode(_ path: XenStorePath, in store: XenStoreClient) throws {
        try store.watch(path, token: "close-on")
        let deadline = ContinuousClock.now + options.waitLimit
        while try store.readIfPresent(path) == nil {
            guard ContinuousClock.now < deadline else { throw ValidationError("\(path) did not appear within \(options.waitLimit)") }
            _ = store.events.next(timeout: .milliseconds(50))
        }
    }
}

Peer.main()
