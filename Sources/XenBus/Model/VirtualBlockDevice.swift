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

/// The kind of backend a device's backend directory is filed under:
/// `/local/domain/<backend>/backend/<type>/…`. A backend driver watches its own type's
/// directory, so two backends in one domain (dom0's kernel `xen-blkback` and a userspace one)
/// must use different types or both would answer the same frontend. The frontend does not care:
/// it finds its backend through its own `backend` node.
///
/// Invariant: `rawValue` is one path element of letters, digits, `-` and `_`.
public struct BackendType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The directory name under `backend/`.
    public let rawValue: String

    /// A type named `rawValue`; nil unless it is one non-empty path element of letters,
    /// digits, `-` and `_`.
    public init?(rawValue: String) {
        let allowed = { (byte: UInt8) in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"): true
            default: false
            }
        }
        guard (1...64).contains(rawValue.utf8.count), rawValue.utf8.allSatisfy(allowed) else { return nil }
        self.rawValue = rawValue
    }

    /// `vbd`: Linux's kernel `xen-blkback` (and xl's default for a disk).
    public static let vbd = BackendType(rawValue: "vbd")!
    /// `qdisk`: QEMU's userspace block backend.
    public static let qdisk = BackendType(rawValue: "qdisk")!
    /// `blkif`: this package's backend when it serves beside a kernel `xen-blkback` in the same
    /// domain (a real dom0), as QEMU uses `qdisk` for the same reason.
    public static let blkif = BackendType(rawValue: "blkif")!

    public var description: String { rawValue }
}

/// One virtual block device: the frontend's domain, the backend's domain, the backend's type
/// and the device number, which fix both ends' directories as a Xen toolstack lays them out.
public struct VirtualBlockDevice: Hashable, Sendable, CustomStringConvertible {
    /// The guest that uses the disk.
    public var frontendDomain: DomainID
    /// The domain that serves it.
    public var backendDomain: DomainID
    /// Which backend driver serves it (the directory under `backend/`).
    public var backendType: BackendType
    /// The device's number in the guest.
    public var id: DeviceID

    /// A device.
    public init(frontendDomain: DomainID, backendDomain: DomainID = .dom0, backendType: BackendType = .vbd, id: DeviceID) {
        self.frontendDomain = frontendDomain
        self.backendDomain = backendDomain
        self.backendType = backendType
        self.id = id
    }

    /// `/local/domain/<frontend>/device/vbd/<id>`.
    public var frontendPath: XenStorePath {
        // safe: built from decimal numbers and fixed names only.
        try! XenStorePath("\(frontendDomain.homePath)/device/vbd/\(id)")
    }

    /// `/local/domain/<backend>/backend/<type>/<frontend>/<id>`.
    public var backendPath: XenStorePath {
        // safe: built from decimal numbers and a type that is one validated path element.
        try! XenStorePath("\(backendDomain.homePath)/backend/\(backendType)/\(frontendDomain)/\(id)")
    }

    /// The device as its frontend's directory describes it: the backend's domain and type come
    /// from the frontend's `backend` node (as a real frontend finds its backend), which must be
    /// `/local/domain/<backend>/backend/<type>/<frontend>/<id>` for this frontend and device.
    /// - Returns: nil when the frontend's directory has no `backend` node (not created yet).
    /// - Throws: ``XenBusError/badBackendLink(_:value:)`` for any other value, naming it.
    public static func located(frontendDomain: DomainID, id: DeviceID, in store: any XenStore) throws(XenBusError) -> VirtualBlockDevice? {
        let node = VirtualBlockDevice(frontendDomain: frontendDomain, id: id).frontendPath.child("backend")
        let value: String
        do {
            guard let read = try store.readIfPresent(node) else { return nil }
            value = read
        } catch { throw .store(error) }
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        // "", "local", "domain", <backend>, "backend", <type>, <frontend>, <id>
        guard parts.count == 8, parts[0].isEmpty, parts[1] == "local", parts[2] == "domain", parts[4] == "backend",
              let backend = UInt16(parts[3]), let type = BackendType(rawValue: String(parts[5])),
              UInt16(parts[6]) == frontendDomain.rawValue, UInt32(parts[7]) == id.rawValue
        else { throw .badBackendLink(node.rawValue, value: value) }
        return VirtualBlockDevice(frontendDomain: frontendDomain, backendDomain: DomainID(backend), backendType: type, id: id)
    }

    public var description: String {
        "vbd \(id) of domain \(frontendDomain) served by domain \(backendDomain)" + (backendType == .vbd ? "" : " (\(backendType))")
    }
}

extension XenStorePath {
    /// The child `name` of a path known to be valid, with a name known to be valid.
    func child(_ name: String) -> XenStorePath {
        // safe: callers pass fixed node names or decimal-suffixed ones.
        try! appending(name)
    }
}
