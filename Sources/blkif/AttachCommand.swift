// `blkif attach`: the frontend. Attaches to a served device as a guest domain would, then
// shows what was negotiated (`info`), benchmarks it (`bench`) or verifies it (`verify`).

import ArgumentParser
import BlkFront
import BlkifABI
import Foundation
import XenBus
import XenPlatform
import XenStore

/// `blkif attach`: the frontend's commands.
struct Attach: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach to a served device as a frontend domain: show it, benchmark it, or verify it.",
        subcommands: [Info.self, Bench.self, Verify.self], defaultSubcommand: Info.self)
}

/// What a frontend asks for, as options.
struct FrontendSelection: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The frontend's domain id (its XenStore session is <socket>.d<domain>). With --platform xen, the domain this runs in (default 0).")
    var domain: UInt16?

    /// The frontend's domain: `--domain`, else 1 on loopback and 0 (dom0) on Xen.
    var frontendDomain: UInt16 { domain ?? (connection.platform == .xen ? 0 : 1) }

    @Option(help: "Ring pages per queue wanted (1, 2, 4, 8 or 16).")
    var ringPages = 1

    @Option(help: "Queues (rings) wanted.")
    var queues = 1

    @Option(help: "Requests in flight per queue.")
    var queueDepth = 32

    @Option(help: "Segments per request through segment blocks (11: none).")
    var segments = 11

    @Option(help: "Segments per indirect request (0: none; at most 256).")
    var indirectSegments = 0

    @Flag(inversion: .prefixedNo, help: "Use persistent grants when the backend offers them.")
    var persistentGrants = true

    @Option(help: "The NUMA node whose memory backs the granted pages (rings and data); default: the kernel's choice.")
    var numaNode: Int?

    @Option(help: "The rings' ABI: x86_64 or x86_32.")
    var abi = "x86_64"

    func validate() throws {
        guard [1, 2, 4, 8, 16].contains(ringPages) else { throw ValidationError("--ring-pages \(ringPages): expected 1, 2, 4, 8 or 16") }
        guard (1...16).contains(queues) else { throw ValidationError("--queues \(queues): expected 1...16") }
        guard (1...1024).contains(queueDepth) else { throw ValidationError("--queue-depth \(queueDepth): expected 1...1024") }
        guard (11...255).contains(segments) else { throw ValidationError("--segments \(segments): expected 11...255") }
        guard (0...FrontendOptions.indirectSegmentLimit).contains(indirectSegments) else {
            throw ValidationError("--indirect-segments \(indirectSegments): expected 0...\(FrontendOptions.indirectSegmentLimit)")
        }
        _ = try chosenABI()
    }

    /// The ABI named by `--abi`.
    func chosenABI() throws -> ABI {
        switch abi {
        case "x86_64", "x86_64-abi": .x86_64
        case "x86_32", "x86_32-abi": .x86_32
        default: throw ValidationError("--abi \(abi): expected x86_64 or x86_32")
        }
    }

    /// The options handed to BlkFront.
    func options() throws -> FrontendOptions {
        FrontendOptions(ringPages: ringPages, queues: queues, queueDepth: queueDepth, segments: segments,
                        indirectSegments: indirectSegments, persistentGrants: persistentGrants, abi: try chosenABI())
    }

    /// Opens the frontend domain's store session and platform and attaches.
    func attach() throws -> AttachedDevice {
        let options = try options()
        let store = try connectToStore()
        do {
            switch connection.platform {
            case .loopback:
                try connection.preparePlatformDirectory()
                let pages = options.grantPagesNeeded
                let platform = try LoopbackPlatform(domain: DomainID(frontendDomain), directory: connection.platformDirectory,
                                                    grantEntries: min(pages + 16, 1 << 16), arenaPages: pages, numaNode: numaNode)
                do {
                    return AttachedDevice(device: try attach(store: store, platform: platform, options: options), store: store,
                                          closePlatform: platform.close)
                } catch {
                    platform.close()
                    throw error
                }
            case .xen:
                let platform = try XenHostPlatform()
                return AttachedDevice(device: try attach(store: store, platform: platform, options: options), store: store, closePlatform: {})
            }
        } catch {
            store.close()
            throw error
        }
    }

    /// Attaches through `platform`'s grants and event channels.
    private func attach<Platform: GrantSharing & EventChannelTable>(store: XenStoreClient, platform: Platform,
                                                                   options: FrontendOptions) throws -> BlockDevice {
        try BlockDevice.attach(store: store, device: connection.virtualDevice(frontend: frontendDomain), grants: platform,
                               events: platform, options: options, timeout: connection.waitLimit)
    }
}

extension FrontendSelection {
    /// Opens the frontend domain's session, waiting (up to `--timeout`) for its socket: `blkif
    /// serve` introduces the domain, and the two commands may start in either order. On Xen the
    /// session is this domain's own, on the store's one socket.
    func connectToStore() throws -> XenStoreClient {
        if connection.platform == .xen { return try XenStoreClient(socketPath: connection.socketPath, timeout: connection.storeCallLimit) }
        let domain = frontendDomain
        let deadline = ContinuousClock.now + connection.waitLimit
        while true {
            do {
                return try XenStoreClient(domain: DomainID(domain), serverSocket: connection.socketPath, timeout: connection.storeCallLimit)
            } catch {
                guard ContinuousClock.now < deadline else {
                    throw ValidationError("cannot reach the XenStore as domain \(domain) at \(connection.socketPath).d\(domain): \(error) "
                                          + "(is the store running, and domain \(domain) introduced? blkif serve introduces it)")
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }
}

/// An attached device with the platform and store session it lives on; ``close()`` ends all three.
struct AttachedDevice {
    let device: BlockDevice
    let store: XenStoreClient
    /// Closes the platform the device's grants and channels live on.
    let closePlatform: () -> Void

    /// Closes the device (the XenBus handshake), then the platform and the session.
    func close() {
        device.close()
        closePlatform()
        store.close()
    }

    /// The backend's `params` node: what it serves (an image path for `blkif serve`).
    func backendParams() -> String? {
        guard let path = try? device.device.backendPath.appending("params") else { return nil }
        return try? store.readIfPresent(path)
    }

    /// One line describing what was negotiated.
    var summary: String {
        let connection = device.connection, features = device.features
        var featureNames: [String] = []
        if features.barrier { featureNames.append("barrier") }
        if features.flushCache { featureNames.append("flush") }
        if let discard = features.discard { featureNames.append(discard.secure ? "discard(secure)" : "discard") }
        if connection.persistentGrants { featureNames.append("persistent-grants") }
        return "\(device.device): \(device.capacity / 1_048_576) MiB (\(device.disk.sectors.rawValue) sectors)\(device.isReadOnly ? ", read-only" : ""); "
            + "\(connection.queues.count) queue(s) of \(connection.geometry); \(device.queueDepth) requests in flight per queue, "
            + "\(device.maximumRequestBytes / 1024) KiB per request"
            + "\(connection.requestLimits.maximumIndirectSegments > 11 ? " (indirect)" : connection.requestLimits.maximumSegments > 11 ? " (segment blocks)" : ""); "
            + "features: \(featureNames.isEmpty ? "none" : featureNames.joined(separator: ", "))"
    }
}

/// `blkif attach info`: attach, print what was negotiated, detach the frontend.
struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Attach, print what was negotiated, and close the frontend.")
    @OptionGroup var frontend: FrontendSelection

    func run() async throws {
        let attached = try frontend.attach()
        defer { attached.close() }
        print(attached.summary)
        for adjustment in attached.device.adjustments { print("  adjusted: \(adjustment)") }
    }
}
