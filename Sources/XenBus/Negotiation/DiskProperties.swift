// The disk a backend publishes when it connects.

import BlkifABI

/// The virtual disk's size and attributes: the backend's `sectors`, `sector-size`,
/// `physical-sector-size` and `info` nodes, published when it goes to Connected.
///
/// Invariants: ``sectorSize`` and ``physicalSectorSize`` are powers of two of at least 512.
public struct DiskProperties: Hashable, Sendable {
    /// Size of the disk in 512-byte sectors (`sectors`; Xen fixed the unit at 512 bytes).
    public var sectors: Sector
    /// The logical sector size in bytes (`sector-size`).
    public var sectorSize: UInt32
    /// The physical sector size in bytes (`physical-sector-size`, default: the logical size).
    public var physicalSectorSize: UInt32
    /// `VDISK_READONLY`, `VDISK_CDROM`, `VDISK_REMOVABLE` (`info`, default none).
    public var info: DiskInfo

    /// A disk; sizes that are not powers of two of at least 512 are a local bug and trap.
    public init(sectors: Sector, sectorSize: UInt32 = 512, physicalSectorSize: UInt32? = nil, info: DiskInfo = []) {
        precondition(Self.isValidSectorSize(sectorSize), "sector size must be a power of two ≥ 512")
        self.sectors = sectors
        self.sectorSize = sectorSize
        self.physicalSectorSize = physicalSectorSize ?? sectorSize
        precondition(Self.isValidSectorSize(self.physicalSectorSize), "physical sector size must be a power of two ≥ 512")
        self.info = info
    }

    /// The request limits of `connection` with this disk's capacity filled in.
    public func requestLimits(of connection: NegotiatedConnection) -> RequestLimits {
        var limits = connection.requestLimits
        limits.capacity = sectors
        return limits
    }

    /// The nodes the backend writes when it connects.
    public var nodes: [String: String] {
        ["sectors": String(sectors.rawValue), "sector-size": String(sectorSize),
         "physical-sector-size": String(physicalSectorSize), "info": String(info.rawValue)]
    }

    /// Reads a backend's disk nodes; `sectors` and `sector-size` are required.
    /// - Throws: ``NegotiationError`` naming a missing, malformed or impossible node.
    public init(parsing nodes: NodeValues) throws(NegotiationError) {
        guard let sectors = try nodes.numberIfPresent("sectors", as: UInt64.self) else { throw .missing(node: "sectors") }
        guard let size = try nodes.numberIfPresent("sector-size", as: UInt32.self) else { throw .missing(node: "sector-size") }
        let physical = try nodes.number("physical-sector-size", as: UInt32.self, default: size)
        for (node, value) in [("sector-size", size), ("physical-sector-size", physical)] where !Self.isValidSectorSize(value) {
            throw .malformed(node: node, value: String(value), expected: "a power of two of at least 512")
        }
        self.init(sectors: Sector(sectors), sectorSize: size, physicalSectorSize: physical,
                  info: DiskInfo(rawValue: try nodes.number("info", as: UInt32.self, default: 0)))
    }

    private static func isValidSectorSize(_ size: UInt32) -> Bool { size >= 512 && size & (size - 1) == 0 }
}
