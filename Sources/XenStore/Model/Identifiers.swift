/// A Xen domain identifier (`domid_t`).
///
/// Domain 0 is the privileged control domain: it may read and write every node and is held to
/// no quota. A client of a server's main Unix socket is domain 0, as with the real xenstored;
/// a client of an introduced domain's socket acts as that domain (see `XenStoreServer`).
public struct DomainID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The numeric domain id.
    public let rawValue: UInt16

    /// Wraps a numeric domain id.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Wraps a numeric domain id.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// The privileged control domain.
    public static let dom0 = DomainID(0)

    /// Whether this domain bypasses permission checks (only domain 0 does).
    public var isPrivileged: Bool { rawValue == 0 }

    /// The domain's home directory, `/local/domain/<id>`; relative paths resolve against it.
    public var homePath: String { "/local/domain/\(rawValue)" }

    /// The decimal id.
    public var description: String { String(rawValue) }
}

/// The opaque token a watcher registers with a watch; it is echoed back in every event.
///
/// A token is an octet string, as xenstored treats it: it need not be UTF-8 and travels
/// byte for byte. Invariant: contains no NUL byte (it travels nul-terminated on the wire).
public struct WatchToken: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The token's bytes, exactly as sent and echoed.
    public let bytes: [UInt8]

    /// Wraps a token. NUL bytes are not representable on the wire and are removed.
    public init(_ value: String) { self.init(bytes: Array(value.utf8)) }

    /// Wraps a token given as raw bytes; NUL bytes are removed.
    public init(bytes: [UInt8]) { self.bytes = bytes.contains(0) ? bytes.filter { $0 != 0 } : bytes }

    /// Wraps a token literal.
    public init(stringLiteral value: String) { self.init(value) }

    /// The token as text; a byte that is not valid UTF-8 shows as U+FFFD here (`bytes` keeps it).
    public var value: String { String(decoding: bytes, as: UTF8.self) }

    /// The token text (see `value`).
    public var description: String { value }
}

/// The identifier of an open transaction; `0` on the wire means "no transaction".
public struct TransactionID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The numeric id as carried in the message header's `tx_id`. Never 0.
    public let rawValue: UInt32

    /// Wraps a wire transaction id; returns nil for 0, which means "no transaction".
    public init?(rawValue: UInt32) {
        guard rawValue != 0 else { return nil }
        self.rawValue = rawValue
    }

    /// The decimal id.
    public var description: String { String(rawValue) }
}

/// A watch notification: the node that changed and the token of the watch it matched.
public struct WatchEvent: Hashable, Sendable {
    /// The changed path, relative if the watch was registered with a relative path.
    public let path: String
    /// The token the watch was registered with.
    public let token: WatchToken

    /// Creates an event.
    public init(path: String, token: WatchToken) {
        self.path = path
        self.token = token
    }
}

