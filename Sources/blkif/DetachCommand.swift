// `blkif detach`: the toolstack removes a device; both ends see it vanish and close.

import ArgumentParser
import XenBus
import XenStore

/// `blkif detach`: removes both directories of a device (`Toolstack.removeDevice`).
struct Detach: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a block device from the store; both ends close.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The frontend's domain id.")
    var frontendDomain: UInt16 = 1

    func run() throws {
        let store = try XenStoreClient(socketPath: connection.socketPath, timeout: connection.storeCallLimit)
        let device = try connection.locatedDevice(frontend: frontendDomain, in: store)
        guard try store.readIfPresent(device.backendPath.appending("state")) != nil
            || store.readIfPresent(device.frontendPath.appending("state")) != nil
        else {
            throw ValidationError("no such device: neither \(device.backendPath) nor \(device.frontendPath) exists")
        }
        try Toolstack.removeDevice(device, from: store)
        print("detached \(device)")
    }
}
