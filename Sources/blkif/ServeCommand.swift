// `blkif serve IMAGE…`: the backend. Plays the toolstack (creates each device), then serves it.

import ArgumentParser
import BlkBack
import BlkifABI
import CRingBenchSupport
import Foundation
import Synchronization
import XenBus
import XenPlatform
import XenStore

/// Set by SIGINT/SIGTERM: the serve loop stops its devices and exits.
private let terminationRequested = Atomic<Bool>(false)
/// Set by SIGUSR1: the serve loop prints the heap allocations and requests answered so far.
private let countersRequested = Atomic<Bool>(false)

/// `blkif serve`: serves disk images to a frontend domain until interrupted or detached.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve disk images (files or block devices) to a frontend domain.",
        discussion: """
            Creates each device in the store as a toolstack would (introducing the frontend's domain \
            if needed): the first image is --device, the next ones --device + 16 each (xvda, xvdb, …). \
            Serves until SIGINT/SIGTERM or until every device is detached (`blkif detach`). \
            SIGUSR1 prints the process's heap allocations and the requests answered so far.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Disk images: regular files or block devices, at least 512 bytes.")
    var images: [String]

    @Option(help: "The frontend's domain id: once for every image, or once per image, in order.")
    var frontendDomain: [UInt16] = [1]

    @Flag(help: "Serve read-only (mode r): writes are answered with an error.")
    var readOnly = false

    @Option(help: "Most ring pages offered (1…16).")
    var maxRingPages = 16

    @Option(help: "Most segments per request with segment blocks (11…255).")
    var maxSegments = 255

    @Option(help: "Most segments per indirect request (0 turns indirect descriptors off).")
    var maxIndirectSegments = 256

    @Option(help: "Most queues (rings) per device.")
    var maxQueues = 4

    @Flag(inversion: .prefixedNo, help: "Offer persistent grants.")
    var persistentGrants = true

    @Option(help: "I/O threads per ring (0: each request is performed on the ring's thread).")
    var ioThreads = 0

    @Option(help: ArgumentHelp(
        "How the data of the frontend's pages is reached: mapping or copying (default: copying with --platform xen, mapping on the loopback platform).",
        discussion: "copying maps nothing of the frontend but its rings: Xen copies each segment (grant copy, as QEMU's xen-block), and persistent grants are not offered."))
    var dataPath: DataPath?

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one disk image") }
        guard connection.platform == .xen || !frontendDomain.contains(0) else {
            throw ValidationError("--frontend-domain 0 is the backend's own domain (only with --platform xen, as `xl block-attach 0` does)")
        }
        guard frontendDomain.count == 1 || frontendDomain.count == images.count else {
            throw ValidationError("\(frontendDomain.count) --frontend-domain values for \(images.count) images: give one, or one per image")
        }
        guard images.count <= 16 else { throw ValidationError("\(images.count) images: at most 16 per process") }
        _ = try connection.chosenBackendType()
    }

    func run() throws {
        let toolstack = try XenStoreClient(socketPath: connection.socketPath, timeout: connection.storeCallLimit)
        switch connection.platform {
        case .loopback:
            // Our store knows only the domains introduced to it; on Xen, xl has introduced them.
            for frontend in Set(frontendDomain).map({ DomainID($0) }) where try !toolstack.isDomainIntroduced(frontend) {
                try toolstack.introduceDomain(frontend)
            }
            try connection.preparePlatformDirectory()
            let platform = try LoopbackPlatform(domain: .dom0, directory: connection.platformDirectory)
            defer { platform.close() }
            try serveAll(on: platform, toolstack: toolstack)
        case .xen:
            try serveAll(on: try XenHostPlatform(), toolstack: toolstack)
        }
    }

    /// Creates and serves every image on `platform` until interrupted or detached.
    private func serveAll<Platform: GrantMapping & EventChannelTable>(on platform: Platform, toolstack: XenStoreClient) throws {
        let configuration = BackendConfiguration(
            maximumRingPages: maxRingPages, maximumSegments: maxSegments, maximumIndirectSegments: maxIndirectSegments,
            maximumQueues: maxQueues, persistentGrants: persistentGrants, ioThreads: ioThreads,
            dataPath: dataPath ?? (connection.platform == .xen ? .copying : .mapping))
        var devices: [BackendDevice] = []
        defer { for device in devices { device.stop() } }
        for (index, image) in images.enumerated() {
            let frontend = DomainID(frontendDomain.count == 1 ? frontendDomain[0] : frontendDomain[index])
            devices.append(try serve(image, as: DeviceID(connection.device + UInt32(index) * 16), of: frontend, platform: platform,
                                     configuration: configuration, toolstack: toolstack))
        }
        signal(SIGINT) { _ in terminationRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in terminationRequested.store(true, ordering: .relaxed) }
        signal(SIGUSR1) { _ in countersRequested.store(true, ordering: .relaxed) }
        while !terminationRequested.load(ordering: .relaxed) {
            var running = false
            for device in devices where !device.wait(timeout: .milliseconds(200)) { running = true }
            guard running else { break }
            if countersRequested.exchange(false, ordering: .relaxed) {
                let answered = devices.reduce(0) { $0 + $1.statistics.answered.load(ordering: .relaxed) }
                report("allocations \(alloc_counter_total()) answered \(answered)")
            }
        }
        for device in devices {
            report("\(device.device): \(device.statistics.summary)\(device.closeReason.map { "; closed: \($0)" } ?? "")")
        }
    }

    /// Creates the device in the store for `image`, opens what its nodes name and starts serving it.
    private func serve<Platform: GrantMapping & EventChannelTable>(
        _ image: String, as id: DeviceID, of frontend: DomainID, platform: Platform,
        configuration: BackendConfiguration, toolstack: XenStoreClient
    ) throws -> BackendDevice {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: image, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ValidationError("image \(image): No such file (or a directory)")
        }
        let device = VirtualBlockDevice(frontendDomain: frontend, backendType: try connection.chosenBackendType(), id: id)
        let kind = image.hasPrefix("/dev/") ? "phy" : "file"
        try Toolstack.createDevice(device, configuration: DeviceConfiguration(
            params: image, mode: readOnly ? .readOnly : .readWrite, type: kind, dev: Self.guestName(of: id)), in: toolstack)
        let storage: FileStorage
        do { storage = try FileStorage.configured(for: device, in: toolstack) } catch {
            try? Toolstack.removeDevice(device, from: toolstack)
            throw ValidationError("image \(image): \(error)")
        }
        let session = try XenStoreClient(socketPath: connection.socketPath, timeout: connection.storeCallLimit)
        let backend = BackendDevice(device: device, store: session, platform: platform, storage: storage, configuration: configuration)
        try backend.start()
        report("serving \(image) (\(storage.byteCount / 512) sectors, \(readOnly ? "read-only" : "read-write"), data \(backend.configuration.dataPath)) at \(device.backendPath)")
        return backend
    }

    /// `xvda` for 51712, `xvdb` for 51728, … (`virtual-device` = 202 << 8 | disk << 4).
    static func guestName(of id: DeviceID) -> String {
        let disk = Int(id.rawValue & 0xFF) >> 4
        guard id.rawValue >> 8 == 202, disk < 26 else { return "xvd\(id.rawValue)" }
        return "xvd" + String(UnicodeScalar(UInt8(97 + disk)))
    }
}

/// Prints a line at once (a supervising process reads it as it happens).
private func report(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

extension DataPath: ExpressibleByArgument {}
