/// An open transaction bound to its store: the operations of `XenStore`, applied inside it.
///
/// Handed to the body of `XenStore.transaction(maxAttempts:_:)`; valid only during that call.
public struct XenStoreTransaction: XenStoreReading, Sendable {
    /// The store the transaction runs on.
    public let store: any XenStore
    /// The transaction's id.
    public let id: TransactionID

    /// The value at `path` as the transaction sees it.
    public func read(_ path: XenStorePath) throws(XenStoreError) -> String {
        try store.read(path, transaction: id)
    }

    /// The raw value at `path` as the transaction sees it.
    public func readBytes(_ path: XenStorePath) throws(XenStoreError) -> [UInt8] {
        try store.readBytes(path, transaction: id)
    }

    /// Sets `path` to the raw `bytes` within the transaction.
    public func write(_ path: XenStorePath, bytes: [UInt8]) throws(XenStoreError) {
        try store.write(path, bytes: bytes, transaction: id)
    }

    /// Sets `path` to `value` within the transaction.
    public func write(_ path: XenStorePath, _ value: String) throws(XenStoreError) {
        try store.write(path, value: value, transaction: id)
    }

    /// Writes a typed value within the transaction.
    public func write(_ path: XenStorePath, _ value: some XenStoreValue) throws(XenStoreError) {
        try store.write(path, value: value.xenStoreValue, transaction: id)
    }

    /// Creates an empty node within the transaction.
    public func mkdir(_ path: XenStorePath) throws(XenStoreError) { try store.mkdir(path, transaction: id) }

    /// Removes a subtree within the transaction.
    public func rm(_ path: XenStorePath) throws(XenStoreError) { try store.rm(path, transaction: id) }

    /// The children of `path` as the transaction sees them.
    public func directory(_ path: XenStorePath) throws(XenStoreError) -> [String] {
        try store.directory(path, transaction: id)
    }

    /// The permission list of `path` as the transaction sees it.
    public func permissions(of path: XenStorePath) throws(XenStoreError) -> Permissions {
        try store.permissions(of: path, transaction: id)
    }

    /// Replaces the permission list of `path` within the transaction.
    public func setPermissions(_ permissions: Permissions, of path: XenStorePath) throws(XenStoreError) {
        try store.setPermissions(permissions, of: path, transaction: id)
    }
}

extension XenStore {
    /// Runs `body` in a transaction and commits it, starting over (up to `maxAttempts` times in
    /// all) whenever the commit or an operation reports the `EAGAIN` conflict.
    ///
    /// If `body` throws anything else, the transaction is aborted and the error rethrown.
    /// Throws `.transactionRetriesExhausted` when every attempt conflicted.
    public func transaction<Value>(maxAttempts: Int = 16, _ body: (XenStoreTransaction) throws -> Value) throws -> Value {
        let attempts = max(1, maxAttempts)
        for _ in 0..<attempts {
            if let value = try attemptTransaction(body) { return value.value }
        }
        throw XenStoreError.transactionRetriesExhausted(attempts: attempts)
    }

    /// One attempt of `transaction`: the body's result (boxed, as it may itself be optional),
    /// or nil if the attempt conflicted.
    private func attemptTransaction<Value>(_ body: (XenStoreTransaction) throws -> Value) throws -> Committed<Value>? {
        let transaction = XenStoreTransaction(store: self, id: try startTransaction())
        let committed: Committed<Value>
        do {
            committed = Committed(value: try body(transaction))
        } catch {
            try? endTransaction(transaction.id, commit: false)
            if (error as? XenStoreError)?.code == .EAGAIN { return nil }
            throw error
        }
        do {
            try endTransaction(transaction.id, commit: true)
        } catch {
            if error.code == .EAGAIN { return nil }
            throw error
        }
        return committed
    }
}

/// The result of a committed transaction body.
private struct Committed<Value> {
    let value: Value
}
