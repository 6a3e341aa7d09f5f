// Where the store and the platform live, and which device: the options every role shares.

import ArgumentParser
import BlkifABI
import Foundation
import XenBus
import XenStore

/// Which grant tables and event channels the ends use.
enum PlatformChoice: String, ExpressibleByArgument, CaseIterable {
    /// Between processes of this machine (memfd grants, eventfd channels): no Xen needed.
    case loopback
    /// The Xen domain this runs in, over Xen's libraries (`/dev/xen/gntdev`, `gntalloc`, `evtchn`).
    case xen
}

/// The options that locate a device and its two ends (docs/blkfront.md, "Running the two ends").
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Grant tables and event channels: loopback (processes of this machine) or xen (this Xen domain's, over Xen's libraries, with the real xenstored).")
    var platform: PlatformChoice = .loopback

    @Option(help: "The backend directory's type, /local/domain/0/backend/<type>/… (default: vbd on loopback; blkif on xen, so that dom0's kernel xen-blkback, which watches backend/vbd, leaves our devices alone).")
    var backendType: String?

    @Option(help: "The XenStore socket (default: $XENSTORED_PATH, else /var/run/xenstored/socket).")
    var socket: String?

    @Option(help: "The loopback platform's socket directory, the same for both ends (default: $BLKIF_PLATFORM_DIR, else blkif-platform beside the XenStore socket).")
    var platformDir: String?

    @Option(help: "The device number (devid; 51712 is xvda).")
    var device: UInt32 = 51712

    @Option(help: "Seconds each wait (for the store, the peer, a state) may take.")
    var timeout: Int = 20

    /// The XenStore socket to use.
    var socketPath: String { socket ?? XenStoreClient.defaultSocketPath() }

    /// The platform directory to use.
    var platformDirectory: String {
        if let platformDir { return platformDir }
        if let fromEnvironment = ProcessInfo.processInfo.environment["BLKIF_PLATFORM_DIR"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return ((socketPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("blkif-platform")
    }

    /// The longest wait.
    var waitLimit: Duration { .seconds(timeout) }

    /// How long one store call may wait for its reply: 5 s with our own store; with
    /// `--platform xen` the longest wait, since the real xenstored of a busy dom0 has taken
    /// more than 5 s to answer.
    var storeCallLimit: Duration { platform == .xen ? waitLimit : .seconds(5) }

    /// The backend type to create devices under.
    func chosenBackendType() throws -> BackendType {
        guard let backendType else { return platform == .xen ? .blkif : .vbd }
        guard let type = BackendType(rawValue: backendType) else {
            throw ValidationError("--backend-type \(backendType): expected one path element of letters, digits, - and _")
        }
        return type
    }

    /// The device between `frontend` and domain 0, under the chosen backend type.
    func virtualDevice(frontend: UInt16) throws -> VirtualBlockDevice {
        VirtualBlockDevice(frontendDomain: DomainID(frontend), backendType: try chosenBackendType(), id: DeviceID(device))
    }

    /// The device of `frontend` as its frontend directory links it (the backend's domain and
    /// type from its `backend` node), else as the options name it.
    func locatedDevice(frontend: UInt16, in store: any XenStore) throws -> VirtualBlockDevice {
        try VirtualBlockDevice.located(frontendDomain: DomainID(frontend), id: DeviceID(device), in: store)
            ?? virtualDevice(frontend: frontend)
    }

    /// Creates the platform directory if it is missing.
    func preparePlatformDirectory() throws {
        try FileManager.default.createDirectory(atPath: platformDirectory, withIntermediateDirectories: true)
    }
}
