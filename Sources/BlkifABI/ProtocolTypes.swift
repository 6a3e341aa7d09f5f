// Strong types for the integers the blkif protocol carries.

/// A Xen grant reference: names one page the other domain granted us (`grant_ref_t`).
@frozen
public struct GrantRef: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 32-bit reference as it travels on the ring.
    public var rawValue: UInt32
    /// Wraps a raw grant reference.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Wraps a raw grant reference.
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { "gref \(rawValue)" }
}

/// A position or a length on the virtual disk in 512-byte units (`blkif_sector_t`).
///
/// Xen fixed in 2024 that every sector field of the protocol (`sector_number`, `first_sect`,
/// `last_sect`, `nr_sectors`, the XenStore `sectors` node) counts 512-byte units whatever the
/// disk's own sector size; this type never means anything else.
@frozen
public struct Sector: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The sector number.
    public var rawValue: UInt64
    /// Wraps a sector number.
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Wraps a sector number.
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    /// Bytes in one sector: 512.
    @inlinable public static var size: Int { 512 }
    /// Sectors in one 4096-byte page: 8.
    @inlinable public static var perPage: UInt8 { 8 }
    /// The byte offset of this sector on the disk, or `nil` if it does not fit in 64 bits.
    @inlinable public var byteOffset: UInt64? {
        let (bytes, overflow) = rawValue.multipliedReportingOverflow(by: UInt64(Self.size))
        return overflow ? nil : bytes
    }
    /// Orders sectors by position on the disk.
    @inlinable public static func < (lhs: Sector, rhs: Sector) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "sector \(rawValue)" }
}

/// The frontend's private tag for a request, echoed unchanged in its response.
@frozen
public struct RequestID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 64-bit value.
    public var rawValue: UInt64
    /// Wraps a request id.
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Wraps a request id.
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "id \(rawValue)" }
}

/// The virtual device a request addresses (`blkif_vdev_t`, the `handle` field).
@frozen
public struct DeviceHandle: RawRepresentable, Hashable, Sendable {
    /// The 16-bit handle.
    public var rawValue: UInt16
    /// Wraps a device handle.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// Wraps a device handle.
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }
}

/// A request's operation code (`BLKIF_OP_*`).
///
/// Any byte is representable: a value this package does not know is kept as it is, so that a
/// response can echo it and an error can name it; ``isKnown`` tells the two apart.
@frozen
public struct Operation: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The operation byte.
    public var rawValue: UInt8
    /// Wraps an operation byte, known or not.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Read from the disk into the granted pages. The corresponding C constant is `BLKIF_OP_READ`.
    @inlinable public static var read: Operation { Operation(rawValue: 0) }
    /// Write the granted pages to the disk. `BLKIF_OP_WRITE`.
    @inlinable public static var write: Operation { Operation(rawValue: 1) }
    /// Write after every earlier write completes (`feature-barrier`). `BLKIF_OP_WRITE_BARRIER`.
    @inlinable public static var writeBarrier: Operation { Operation(rawValue: 2) }
    /// Commit the disk's volatile cache (`feature-flush-cache`). `BLKIF_OP_FLUSH_DISKCACHE`.
    @inlinable public static var flushDiskCache: Operation { Operation(rawValue: 3) }
    /// Reserved for a vendor's device-specific packets. `BLKIF_OP_RESERVED_1`.
    @inlinable public static var reserved1: Operation { Operation(rawValue: 4) }
    /// Tell the disk a range is unused (`feature-discard`). `BLKIF_OP_DISCARD`.
    @inlinable public static var discard: Operation { Operation(rawValue: 5) }
    /// A read or write whose segments sit in granted pages (`feature-max-indirect-segments`).
    /// `BLKIF_OP_INDIRECT`.
    @inlinable public static var indirect: Operation { Operation(rawValue: 6) }

    /// Whether the value is one of the operations defined by Xen's `blkif.h`.
    @inlinable public var isKnown: Bool { rawValue <= 6 }

    /// Whether requests of this operation carry a segment list in the request entry.
    @inlinable public var carriesSegments: Bool { rawValue <= 3 }

    public var description: String {
        switch rawValue {
        case 0: "read"
        case 1: "write"
        case 2: "write-barrier"
        case 3: "flush-diskcache"
        case 4: "reserved-1"
        case 5: "discard"
        case 6: "indirect"
        default: "unknown operation \(rawValue)"
        }
    }
}

/// A response's status (`BLKIF_RSP_*`), a signed 16-bit value; unknown values are kept.
@frozen
public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The status as it travels on the ring.
    public var rawValue: Int16
    /// Wraps a status value.
    @inlinable public init(rawValue: Int16) { self.rawValue = rawValue }
    /// The request succeeded. `BLKIF_RSP_OKAY`.
    @inlinable public static var okay: Status { Status(rawValue: 0) }
    /// The request failed. `BLKIF_RSP_ERROR`.
    @inlinable public static var error: Status { Status(rawValue: -1) }
    /// The operation is not supported by this backend. `BLKIF_RSP_EOPNOTSUPP`.
    @inlinable public static var notSupported: Status { Status(rawValue: -2) }

    public var description: String {
        switch rawValue {
        case 0: "okay"
        case -1: "error"
        case -2: "not supported"
        default: "unknown status \(rawValue)"
        }
    }
}

/// The virtual disk's attributes, the backend's `info` node (`VDISK_*` bits).
@frozen
public struct DiskInfo: OptionSet, Hashable, Sendable {
    /// The bitmap as published.
    public var rawValue: UInt32
    /// Wraps a bitmap; unknown bits are kept.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The disk is a CD-ROM. `VDISK_CDROM`.
    public static let cdrom = DiskInfo(rawValue: 0x1)
    /// The medium is removable. `VDISK_REMOVABLE`.
    public static let removable = DiskInfo(rawValue: 0x2)
    /// The disk rejects writes. `VDISK_READONLY`.
    public static let readOnly = DiskInfo(rawValue: 0x4)
}

/// A Linux major number that Xen assigns to emulated disks, used in `virtual-device`
/// (`major << 8 | minor`). The constants are the seed's `XEN_*_MAJOR`.
@frozen
public struct XenDiskMajor: RawRepresentable, Hashable, Sendable {
    /// The major number.
    public var rawValue: UInt16
    /// Wraps a major number.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The first IDE controller, `XEN_IDE0_MAJOR`.
    public static let ide0 = XenDiskMajor(rawValue: 3)
    /// The second IDE controller, `XEN_IDE1_MAJOR`.
    public static let ide1 = XenDiskMajor(rawValue: 22)
    /// SCSI disks 0 to 15, `XEN_SCSI_DISK0_MAJOR` … `XEN_SCSI_DISK15_MAJOR`.
    public static let scsiDisks: [XenDiskMajor] =
        ([8, 65, 66, 67, 68, 69, 70, 71] + Array(128...135)).map { XenDiskMajor(rawValue: $0) }

    /// The `virtual-device` number of `minor` on this major.
    @inlinable public func virtualDevice(minor: UInt8) -> UInt16 { rawValue << 8 | UInt16(minor) }
}

/// The discard request's `flag` byte.
@frozen
public struct DiscardFlags: OptionSet, Hashable, Sendable {
    /// The flag byte as published; unknown bits are kept.
    public var rawValue: UInt8
    /// Wraps a flag byte.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Every copy of the discarded range must become unrecoverable. `BLKIF_DISCARD_SECURE`.
    @inlinable public static var secure: DiscardFlags { DiscardFlags(rawValue: 1) }
}
