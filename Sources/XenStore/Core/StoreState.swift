/// Identifies one session (one connection, or one in-process handle) on a shared store.
struct SessionID: Hashable, Sendable {
    let rawValue: UInt64
}

/// Who performs an operation: the session (owner of watches and transactions) and its domain.
struct Caller: Sendable {
    let session: SessionID
    let domain: DomainID
}

/// A watch event bound for a session's sink.
struct Delivery: Sendable {
    let session: SessionID
    let event: WatchEvent
}

/// A mutation performed inside a transaction, replayed on the live tree at commit.
typealias TreeMutation = @Sendable (inout NodeTree) throws(XenStoreError) -> Effect

/// An open transaction: the snapshot it started from, its private working copy, every path
/// it read or wrote, and the mutations to replay at commit.
struct OpenTransaction: Sendable {
    let owner: SessionID
    let base: NodeTree
    var working: NodeTree
    var accessed: Set<String> = []
    var log: [TreeMutation] = []
}

/// A registered watch.
struct RegisteredWatch: Sendable {
    let caller: Caller
    let path: XenStorePath
    let absolutePath: String
    let token: WatchToken
}

/// The whole mutable state of a store: tree, open transactions and watches.
///
/// Not thread-safe by itself; `StoreCore` guards it with a mutex. Transactions follow
/// xenstored: they work on a snapshot, and commit fails with `EAGAIN` if any node the
/// transaction read or wrote changed in the live tree since it started.
struct StoreState: Sendable {
    /// The special watch paths whose events the store itself invents.
    static let specialPaths: Set<String> = ["@introduceDomain", "@releaseDomain"]

    /// The limits for unprivileged domains.
    let quotas: XenStoreQuotas
    var tree = NodeTree()
    /// Who may watch each special path: owned by domain 0 and closed to others until changed.
    private var specialPermissions: [String: Permissions] = Dictionary(
        uniqueKeysWithValues: specialPaths.map { ($0, Permissions(owner: .dom0)) })
    private var transactions: [UInt32: OpenTransaction] = [:]
    private var nextTransaction: UInt32 = 1
    private var watches: [RegisteredWatch] = []

    /// How many watches are registered, over all sessions.
    var watchCount: Int { watches.count }

    /// An empty tree whose unprivileged callers are held to `quotas`.
    init(quotas: XenStoreQuotas) { self.quotas = quotas }

    /// Runs a read-only query against the live tree or the caller's transaction.
    mutating func query<R>(_ tx: TransactionID?, _ caller: Caller, touching path: String,
                           _ body: (NodeTree) throws(XenStoreError) -> R) throws(XenStoreError) -> R {
        guard let tx else { return try body(tree) }
        let id = try ownedTransaction(tx, caller)
        transactions[id]!.accessed.insert(path)
        return try body(transactions[id]!.working)
    }

    /// Applies a mutation to the live tree (returning the watch deliveries) or records it
    /// in the caller's transaction (no deliveries until commit).
    mutating func mutate(_ tx: TransactionID?, _ caller: Caller,
                         _ mutation: @escaping TreeMutation) throws(XenStoreError) -> [Delivery] {
        guard let tx else { return deliveries(for: try mutation(&tree)) }
        let id = try ownedTransaction(tx, caller)
        let effect = try mutation(&transactions[id]!.working)
        transactions[id]!.accessed.formUnion(effect.touched)
        transactions[id]!.log.append(mutation)
        return []
    }

    /// Opens a transaction on a snapshot of the live tree.
    mutating func startTransaction(_ caller: Caller) throws(XenStoreError) -> TransactionID {
        if let quota = quotas.transactionsPerSession, !caller.domain.isPrivileged,
           transactions.values.count(where: { $0.owner == caller.session }) >= quota {
            throw .store(.ENOSPC, path: nil)
        }
        while transactions[nextTransaction] != nil || nextTransaction == 0 { nextTransaction &+= 1 }
        let id = nextTransaction
        nextTransaction &+= 1
        transactions[id] = OpenTransaction(owner: caller.session, base: tree, working: tree)
        return TransactionID(rawValue: id)!
    }

    /// Ends a transaction. On commit, replays it on the live tree unless a node it accessed
    /// changed meanwhile, in which case it throws `EAGAIN` and nothing is applied.
    mutating func endTransaction(_ tx: TransactionID, commit: Bool, _ caller: Caller) throws(XenStoreError) -> [Delivery] {
        let id = try ownedTransaction(tx, caller)
        let transaction = transactions.removeValue(forKey: id)!
        guard commit else { return [] }
        let conflict = transaction.accessed.contains { tree.generation(of: $0) != transaction.base.generation(of: $0) }
        guard !conflict else { throw .store(.EAGAIN, path: nil) }
        var replayed = tree
        var effects: [Effect] = []
        for mutation in transaction.log {
            guard let effect = try? mutation(&replayed) else { throw .store(.EAGAIN, path: nil) }
            effects.append(effect)
        }
        tree = replayed
        return effects.flatMap(deliveries(for:))
    }

    /// Registers a watch and returns its initial event. Watches are told apart by their
    /// canonical (absolute) path and token, so `x` and `/local/domain/<id>/x` are the same watch.
    mutating func addWatch(_ path: XenStorePath, token: WatchToken, _ caller: Caller) throws(XenStoreError) -> Delivery {
        let absolute = path.resolved(for: caller.domain)
        guard !watches.contains(where: { $0.caller.session == caller.session && $0.absolutePath == absolute && $0.token == token })
        else { throw .store(.EEXIST, path: path.rawValue) }
        if let quota = quotas.watchesPerDomain, !caller.domain.isPrivileged,
           watches.count(where: { $0.caller.domain == caller.domain }) >= quota {
            throw .store(.E2BIG, path: path.rawValue)
        }
        watches.append(RegisteredWatch(caller: caller, path: path, absolutePath: absolute, token: token))
        return Delivery(session: caller.session, event: WatchEvent(path: path.rawValue, token: token))
    }

    /// Removes the watch registered by this session with this path (compared in canonical form) and token.
    mutating func removeWatch(_ path: XenStorePath, token: WatchToken, _ caller: Caller) throws(XenStoreError) {
        let absolute = path.resolved(for: caller.domain)
        guard let index = watches.firstIndex(where: {
            $0.caller.session == caller.session && $0.absolutePath == absolute && $0.token == token
        }) else { throw .store(.ENOENT, path: path.rawValue) }
        watches.remove(at: index)
    }

    /// Replaces who may watch the special path `path` (`@introduceDomain`, `@releaseDomain`):
    /// domain 0 or the current owner may; `EINVAL` for any other special path.
    mutating func setSpecialPermissions(_ permissions: Permissions, of path: String, _ caller: Caller) throws(XenStoreError) {
        guard let current = specialPermissions[path] else { throw .store(.EINVAL, path: path) }
        guard caller.domain.isPrivileged || current.owner == caller.domain else { throw .store(.EACCES, path: path) }
        specialPermissions[path] = permissions
    }

    /// The events of the store-invented `special` event (`@introduceDomain`, `@releaseDomain`):
    /// one per watch on it whose domain may read its permission list.
    func specialEvent(_ special: String) -> [Delivery] {
        guard let permissions = specialPermissions[special] else { return [] }
        return watches.compactMap { watch in
            guard watch.absolutePath == special, permissions.access(for: watch.caller.domain).allowsRead else { return nil }
            return Delivery(session: watch.caller.session, event: WatchEvent(path: special, token: watch.token))
        }
    }

    /// Drops the session's watches and aborts its transactions.
    mutating func forget(_ session: SessionID) {
        watches.removeAll { $0.caller.session == session }
        transactions = transactions.filter { $0.value.owner != session }
    }

    private func ownedTransaction(_ tx: TransactionID, _ caller: Caller) throws(XenStoreError) -> UInt32 {
        guard transactions[tx.rawValue]?.owner == caller.session else { throw .store(.ENOENT, path: nil) }
        return tx.rawValue
    }

    /// The events an effect fires: every watch at or above a changed path (exactly on it, for
    /// the descendants of a removed node) whose domain may read the changed node.
    private func deliveries(for effect: Effect) -> [Delivery] {
        effect.changes.flatMap { change in
            watches.compactMap { watch -> Delivery? in
                let matches = change.exact ? change.path == watch.absolutePath
                    : NodeTree.path(change.path, isAtOrBelow: watch.absolutePath)
                guard matches, change.permissions.access(for: watch.caller.domain).allowsRead else { return nil }
                return Delivery(session: watch.caller.session, event: WatchEvent(path: eventPath(change.path, for: watch), token: watch.token))
            }
        }
    }

    /// A change path as the watcher sees it: relative to its home if it watched a relative path.
    private func eventPath(_ path: String, for watch: RegisteredWatch) -> String {
        let home = watch.caller.domain.homePath + "/"
        guard !watch.path.isAbsolute, path.hasPrefix(home) else { return path }
        return String(path.dropFirst(home.count))
    }
}
