/// Reads one node's value as text; the base of the typed reads, shared by stores and transactions.
public protocol XenStoreReading {
    /// The value at `path` as UTF-8 text; throws `.store(.ENOENT, ...)` if there is no such node
    /// and `.malformedValue` if the value's bytes are not valid UTF-8.
    func read(_ path: XenStorePath) throws(XenStoreError) -> String
}

/// A XenStore: a tree of nodes with permissions, watches and transactions.
///
/// A node's value is an octet string (xenstore.txt: "Store and read the octet string <value>"):
/// `readBytes`/`write(_:bytes:)` carry it byte for byte. The String calls are UTF-8 views of
/// it: a String write stores the text's UTF-8 bytes, a String read of bytes that are not valid
/// UTF-8 throws `.malformedValue` (the bytes shown escaped) rather than altering them.
///
/// Implemented by `InMemoryXenStore` (in-process) and `XenStoreClient` (the wire protocol,
/// against a real xenstored or a `XenStoreServer`), so code runs unchanged against either.
/// Each instance is one session: its identity (domain), its watches and its transactions.
/// Relative paths resolve against the session's domain home, `/local/domain/<id>`.
/// `transaction` nil means the operation applies to the live tree at once.
public protocol XenStore: XenStoreReading, AnyObject, Sendable {
    /// The raw value at `path`, as seen by the transaction if given.
    func readBytes(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> [UInt8]
    /// Sets `path` to the raw `bytes`, creating missing ancestors.
    func write(_ path: XenStorePath, bytes: [UInt8], transaction: TransactionID?) throws(XenStoreError)
    /// Creates an empty node at `path` (and missing ancestors); an existing node is kept.
    func mkdir(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError)
    /// Removes `path` and everything below it.
    func rm(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError)
    /// The names of the children of `path`.
    func directory(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> [String]
    /// The permission list of `path`.
    func permissions(of path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> Permissions
    /// Replaces the permission list of `path`; only its owner or domain 0 may.
    func setPermissions(_ permissions: Permissions, of path: XenStorePath, transaction: TransactionID?) throws(XenStoreError)
    /// Watches `path` and everything below it. An event naming `path` fires at once, then one
    /// per change at or below it, each carrying `token`; they arrive in `events`.
    func watch(_ path: XenStorePath, token: WatchToken) throws(XenStoreError)
    /// Removes the watch registered with this path and token.
    func unwatch(_ path: XenStorePath, token: WatchToken) throws(XenStoreError)
    /// Opens a transaction on a snapshot of the tree.
    func startTransaction() throws(XenStoreError) -> TransactionID
    /// Commits or aborts a transaction; a commit that conflicts throws `.store(.EAGAIN, ...)`.
    func endTransaction(_ transaction: TransactionID, commit: Bool) throws(XenStoreError)
    /// The watch events of this session.
    var events: WatchEventQueue { get }
}

extension XenStore {
    /// The value at `path` as UTF-8 text, as seen by the transaction if given; bytes that are
    /// not valid UTF-8 throw `.malformedValue` (use `readBytes` for binary values).
    public func read(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> String {
        try ValueText.decode(try readBytes(path, transaction: transaction), at: path)
    }

    /// Sets `path` to the UTF-8 bytes of `value`, creating missing ancestors.
    public func write(_ path: XenStorePath, value: String, transaction: TransactionID?) throws(XenStoreError) {
        try write(path, bytes: Array(value.utf8), transaction: transaction)
    }

    /// The raw value at `path` in the live tree.
    public func readBytes(_ path: XenStorePath) throws(XenStoreError) -> [UInt8] {
        try readBytes(path, transaction: nil)
    }

    /// Sets `path` to the raw `bytes` in the live tree, creating missing ancestors.
    public func write(_ path: XenStorePath, bytes: [UInt8]) throws(XenStoreError) {
        try write(path, bytes: bytes, transaction: nil)
    }

    /// The value at `path` in the live tree, as UTF-8 text.
    public func read(_ path: XenStorePath) throws(XenStoreError) -> String {
        try read(path, transaction: nil)
    }

    /// Sets `path` to `value` in the live tree, creating missing ancestors.
    public func write(_ path: XenStorePath, _ value: String) throws(XenStoreError) {
        try write(path, value: value, transaction: nil)
    }

    /// Writes a typed value (decimal integers, `0`/`1` booleans) at `path`.
    public func write(_ path: XenStorePath, _ value: some XenStoreValue) throws(XenStoreError) {
        try write(path, value: value.xenStoreValue, transaction: nil)
    }

    /// Creates an empty node at `path` in the live tree.
    public func mkdir(_ path: XenStorePath) throws(XenStoreError) { try mkdir(path, transaction: nil) }

    /// Removes `path` and its subtree from the live tree.
    public func rm(_ path: XenStorePath) throws(XenStoreError) { try rm(path, transaction: nil) }

    /// The children of `path` in the live tree.
    public func directory(_ path: XenStorePath) throws(XenStoreError) -> [String] {
        try directory(path, transaction: nil)
    }

    /// The permission list of `path` in the live tree.
    public func permissions(of path: XenStorePath) throws(XenStoreError) -> Permissions {
        try permissions(of: path, transaction: nil)
    }

    /// Replaces the permission list of `path` in the live tree.
    public func setPermissions(_ permissions: Permissions, of path: XenStorePath) throws(XenStoreError) {
        try setPermissions(permissions, of: path, transaction: nil)
    }
}

/// The UTF-8 view of a node's bytes.
enum ValueText {
    /// `bytes` as text; throws `.malformedValue` naming `path` and the bytes, escaped, when they
    /// are not valid UTF-8.
    static func decode(_ bytes: [UInt8], at path: XenStorePath) throws(XenStoreError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformedValue(path: path.rawValue, value: escaped(bytes), expected: "UTF-8 text")
        }
        return text
    }

    /// Printable ASCII as itself, every other byte as `\xNN`.
    static func escaped(_ bytes: [UInt8]) -> String {
        bytes.map { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") ? String(UnicodeScalar($0)) : "\\x" + hex($0) }.joined()
    }

    private static func hex(_ byte: UInt8) -> String { (byte < 16 ? "0" : "") + String(byte, radix: 16) }
}
