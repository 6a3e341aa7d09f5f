/// Reads one node's raw string value; the base of the typed reads, shared by stores and transactions.
public protocol XenStoreReading {
    /// The value at `path`; throws `.store(.ENOENT, ...)` if there is no such node.
    func read(_ path: XenStorePath) throws(XenStoreError) -> String
}

/// A XenStore: a tree of string nodes with permissions, watches and transactions.
///
/// Implemented by `InMemoryXenStore` (in-process) and `XenStoreClient` (the wire protocol,
/// against a real xenstored or a `XenStoreServer`), so code runs unchanged against either.
/// Each instance is one session: its identity (domain), its watches and its transactions.
/// Relative paths resolve against the session's domain home, `/local/domain/<id>`.
/// `transaction` nil means the operation applies to the live tree at once.
public protocol XenStore: XenStoreReading, AnyObject, Sendable {
    /// The value at `path`, as seen by the transaction if given.
    func read(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> String
    /// Sets `path` to `value`, creating missing ancestors.
    func write(_ path: XenStorePath, value: String, transaction: TransactionID?) throws(XenStoreError)
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
    /// The value at `path` in the live tree.
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
