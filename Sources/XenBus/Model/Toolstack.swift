// The toolstack's part: creating and removing a device's two directories.

import XenStore

/// How the guest may use the disk (the backend's `mode` node).
public enum DiskMode: String, Hashable, Sendable {
    /// `r`: read only.
    case readOnly = "r"
    /// `w`: read and write.
    case readWrite = "w"
}

/// What the toolstack writes about a disk besides the two ends' links and states.
public struct DeviceConfiguration: Hashable, Sendable {
    /// `params`: what the backend opens (a file path, a device).
    public var params: String
    /// `mode`.
    public var mode: DiskMode
    /// `type`: the backing kind (`file`, `phy`, …).
    public var type: String
    /// `dev`: the guest's name for the disk (`xvda`).
    public var dev: String
    /// `virtual-device`: `major << 8 | minor` (51712 is `xvda`).
    public var virtualDevice: UInt32
    /// `device-type`: `disk`, `cdrom`, …
    public var deviceType: String

    /// A configuration; by default a writable file-backed `xvda`.
    public init(params: String, mode: DiskMode = .readWrite, type: String = "file", dev: String = "xvda",
                virtualDevice: UInt32 = 51712, deviceType: String = "disk") {
        self.params = params
        self.mode = mode
        self.type = type
        self.dev = dev
        self.virtualDevice = virtualDevice
        self.deviceType = deviceType
    }
}

/// The toolstack's operations on devices, as xl performs them: run by a privileged session.
public enum Toolstack {
    /// Creates both ends' directories in one transaction: each names the other (`backend`,
    /// `backend-id`, `frontend`, `frontend-id`), both at state Initialising; the backend gets
    /// `params`, `mode`, `type`, `dev`, `online`; the frontend `virtual-device`, `device-type`.
    /// Each directory is owned by its end's domain and readable by the other end's.
    public static func createDevice(_ device: VirtualBlockDevice, configuration: DeviceConfiguration, in store: any XenStore) throws {
        let front = device.frontendPath, back = device.backendPath
        try store.transaction { transaction in
            try removeIfPresent(front, in: transaction)
            try removeIfPresent(back, in: transaction)
            try transaction.mkdir(front)
            try transaction.mkdir(back)
            try transaction.setPermissions(Permissions(owner: device.frontendDomain, grants: [.init(device.backendDomain, .read)]), of: front)
            try transaction.setPermissions(Permissions(owner: device.backendDomain, grants: [.init(device.frontendDomain, .read)]), of: back)
            let frontNodes = [
                "backend": back.rawValue, "backend-id": device.backendDomain.description,
                "virtual-device": String(configuration.virtualDevice), "device-type": configuration.deviceType,
                "state": XenbusState.initialising.nodeValue,
            ]
            let backNodes = [
                "frontend": front.rawValue, "frontend-id": device.frontendDomain.description,
                "params": configuration.params, "mode": configuration.mode.rawValue, "type": configuration.type,
                "dev": configuration.dev, "online": "1", "state": XenbusState.initialising.nodeValue,
            ]
            for (name, value) in frontNodes { try transaction.write(front.child(name), value) }
            for (name, value) in backNodes { try transaction.write(back.child(name), value) }
        }
    }

    /// Removes both ends' directories (the ends see their peer vanish).
    public static func removeDevice(_ device: VirtualBlockDevice, from store: any XenStore) throws {
        try store.transaction { transaction in
            try removeIfPresent(device.frontendPath, in: transaction)
            try removeIfPresent(device.backendPath, in: transaction)
        }
    }

    /// Removes `path` and its subtree; a path that is already gone is fine.
    private static func removeIfPresent(_ path: XenStorePath, in transaction: XenStoreTransaction) throws(XenStoreError) {
        do { try transaction.rm(path) } catch where error.code == .ENOENT {}
    }
}
