// The strong types the platform's interfaces speak in, beside BlkifABI's `GrantRef` and
// XenStore's `DomainID`.

/// A Xen event channel port (`evtchn_port_t`): a local name for one end of a doorbell.
///
/// Port numbers are per domain: the two ends of one channel usually have different numbers.
/// Port 0 is never a valid channel, as on Xen.
public struct EventPort: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The port number as XenStore's `event-channel` node carries it.
    public let rawValue: UInt32
    /// Wraps a port number.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Wraps a port number.
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { "port \(rawValue)" }
}

/// What a grant lets its peer do with the page.
public enum GrantAccess: Sendable, Hashable, CustomStringConvertible {
    /// The peer may only read: the grant entry carries `GTF_readonly` and a mapping is `PROT_READ`.
    case readOnly
    /// The peer may read and write.
    case readWrite

    /// Whether writing is allowed.
    public var isWritable: Bool { self == .readWrite }

    public var description: String { self == .readOnly ? "read-only" : "read-write" }
}

/// The page size of every grant: 4096 bytes (`XEN_PAGE_SIZE`), whatever the host's.
public enum GrantPage {
    /// Bytes in one granted page.
    public static let size = 4096
}
