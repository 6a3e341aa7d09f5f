// Where a block device's two directories live in XenStore.

import XenStore

/// The number naming a device within its frontend domain (xl's `devid`, usually the
/// `virtual-device` number, e.g. 51712 for `xvda`).
@frozen
public struct DeviceID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The decimal device number as it appears in paths.
    public var rawValue: UInt32
    /// Wraps a device number.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Wraps a device number.
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// One virtual block device: the frontend's domain, the backend's domain and the device number,
/// which fix both ends' directories as a Xen toolstack lays them out.
public struct VirtualBlockDevice: Hashable, Sendable, CustomStringConvertible {
    /// The guest that uses the disk.
    public var frontendDomain: DomainID
    /// The domain that serves it.
    public var backendDomain: DomainID
    /// The device's number in the guest.
    public var id: DeviceID

    /// A device.
    public init(frontendDomain: DomainID, backendDomain: DomainID = .dom0, id: DeviceID) {
        self.frontendDomain = frontendDomain
        self.backendDomain = backendDomain
        self.id = id
    }

    /// `/local/domain/<frontend>/device/vbd/<id>`.
    public var frontendPath: XenStorePath {
        // safe: built from decimal numbers and fixed names only.
        try! XenStorePath("\(frontendDomain.homePath)/device/vbd/\(id)")
    }

    /// `/local/domain/<backend>/backend/vbd/<frontend>/<id>`.
    public var backendPath: XenStorePath {
        // safe: built from decimal numbers and fixed names only.
        try! XenStorePath("\(backendDomain.homePath)/backend/vbd/\(frontendDomain)/\(id)")
    }

    public var description: String { "vbd \(id) of domain \(frontendDomain) served by domain \(backendDomain)" }
}

extension XenStorePath {
    /// The child `name` of a path known to be valid, with a name known to be valid.
    func child(_ name: String) -> XenStorePath {
        // safe: callers pass fixed node names or decimal-suffixed ones.
        try! appending(name)
    }
}
