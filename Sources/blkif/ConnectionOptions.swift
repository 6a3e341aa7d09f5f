// Where the store and the platform live, and which device: the options every role shares.

import ArgumentParser
import BlkifABI
import Foundation
import XenBus
import XenStore

/// The options that locate a device and its two ends (docs/blkfront.md, "Running the two ends").
struct ConnectionOptions: ParsableArguments {
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

    /// The device between `frontend` and domain 0.
    func virtualDevice(frontend: UInt16) -> VirtualBlockDevice {
        VirtualBlockDevice(frontendDomain: DomainID(frontend), id: DeviceID(device))
    }

    /// Creates the platform directory if it is missing.
    func preparePlatformDirectory() throws {
        try FileManager.default.createDirectory(atPath: platformDirectory, withIntermediateDirectories: true)
    }
}
