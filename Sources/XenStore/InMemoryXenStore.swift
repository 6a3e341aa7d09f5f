/// An in-process XenStore: one session on a tree held in memory.
///
/// Thread-safe. `InMemoryXenStore()` creates a new, empty tree (only `/`, owned by domain 0)
/// and a domain-0 session on it, holding unprivileged sessions to `quotas`; `session(as:)` opens further sessions on the same tree, each
/// with its own domain identity, watches and transactions — the way to exercise permission
/// checks for an unprivileged domain. `XenStoreServer` serves the same tree over the wire.
public final class InMemoryXenStore: XenStore {
    /// The domain this session acts as; every operation is checked against it.
    public let domain: DomainID
    /// The watch events of this session.
    public let events = WatchEventQueue()

    let core: StoreCore
    private let caller: Caller

    /// A new empty tree, with a domain-0 session on it; unprivileged sessions are held to `quotas`.
    public convenience init(quotas: XenStoreQuotas = .xenstoredDefaults) {
        self.init(core: StoreCore(quotas: quotas), domain: .dom0)
    }

    /// A session on `core`; its watch events go to `sink` if given, else to `events`.
    init(core: StoreCore, domain: DomainID, sink: StoreCore.Sink? = nil) {
        self.core = core
        self.domain = domain
        let events = self.events
        caller = Caller(session: core.openSession(sink: sink ?? { events.push($0) }), domain: domain)
    }

    deinit { close() }

    /// A new session on the same tree acting as `domain`.
    public func session(as domain: DomainID) -> InMemoryXenStore { InMemoryXenStore(core: core, domain: domain) }

    /// Ends the session: its watches are removed, its transactions aborted, its event queue finished.
    public func close() {
        core.closeSession(caller.session)
        events.finish()
    }

    public func readBytes(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> [UInt8] {
        try query(path, transaction) { tree, absolute, domain throws(XenStoreError) in try tree.readable(absolute, by: domain).value }
    }

    public func directory(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> [String] {
        try query(path, transaction) { tree, absolute, domain throws(XenStoreError) in try tree.readable(absolute, by: domain).children }
    }

    /// The children of `path` with the generation of its last change (for `XS_DIRECTORY_PART`).
    func listing(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> (generation: UInt64, children: [String]) {
        try query(path, transaction) { tree, absolute, domain throws(XenStoreError) in
            let node = try tree.readable(absolute, by: domain)
            return (node.generation, node.children)
        }
    }

    public func permissions(of path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> Permissions {
        try query(path, transaction) { tree, absolute, domain throws(XenStoreError) in try tree.readable(absolute, by: domain).permissions }
    }

    public func write(_ path: XenStorePath, bytes: [UInt8], transaction: TransactionID?) throws(XenStoreError) {
        try mutate(path, transaction) { tree, absolute, domain throws(XenStoreError) in try tree.write(absolute, value: bytes, by: domain) }
    }

    public func mkdir(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) {
        try mutate(path, transaction) { tree, absolute, domain throws(XenStoreError) in try tree.mkdir(absolute, by: domain) }
    }

    public func rm(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) {
        try mutate(path, transaction) { tree, absolute, domain throws(XenStoreError) in try tree.rm(absolute, by: domain) }
    }

    /// Replaces the permission list of `path`. On the special paths `@introduceDomain` and
    /// `@releaseDomain` it says which domains receive those events (the transaction is ignored).
    public func setPermissions(_ permissions: Permissions, of path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) {
        if path.isSpecial {
            let caller = caller
            return try core.perform { state throws(XenStoreError) in
                (try state.setSpecialPermissions(permissions, of: path.rawValue, caller), [])
            }
        }
        try mutate(path, transaction) { tree, absolute, domain throws(XenStoreError) in
            try tree.setPermissions(permissions, of: absolute, by: domain)
        }
    }

    public func watch(_ path: XenStorePath, token: WatchToken) throws(XenStoreError) {
        let caller = caller
        try core.perform { state throws(XenStoreError) in ((), [try state.addWatch(path, token: token, caller)]) }
    }

    public func unwatch(_ path: XenStorePath, token: WatchToken) throws(XenStoreError) {
        let caller = caller
        try core.perform { state throws(XenStoreError) in (try state.removeWatch(path, token: token, caller), []) }
    }

    /// Removes every watch and aborts every transaction of this session (the wire's
    /// `XS_RESET_WATCHES`: "reset all watches and transactions of the caller").
    public func resetWatches() {
        let caller = caller
        core.perform { state in (state.forget(caller.session), []) }
    }

    public func startTransaction() throws(XenStoreError) -> TransactionID {
        let caller = caller
        return try core.perform { state throws(XenStoreError) in (try state.startTransaction(caller), []) }
    }

    public func endTransaction(_ transaction: TransactionID, commit: Bool) throws(XenStoreError) {
        let caller = caller
        try core.perform { state throws(XenStoreError) in ((), try state.endTransaction(transaction, commit: commit, caller)) }
    }

    private func query<R: Sendable>(_ path: XenStorePath, _ transaction: TransactionID?,
                                    _ body: (NodeTree, String, DomainID) throws(XenStoreError) -> R) throws(XenStoreError) -> R {
        let absolute = try treePath(path)
        let caller = caller
        return try core.perform { state throws(XenStoreError) in
            (try state.query(transaction, caller, touching: absolute) { tree throws(XenStoreError) in try body(tree, absolute, caller.domain) }, [])
        }
    }

    private func mutate(_ path: XenStorePath, _ transaction: TransactionID?,
                        _ body: @escaping @Sendable (inout NodeTree, String, DomainID) throws(XenStoreError) -> Effect) throws(XenStoreError) {
        let absolute = try treePath(path)
        let caller = caller
        try core.perform { state throws(XenStoreError) in
            ((), try state.mutate(transaction, caller) { tree throws(XenStoreError) in try body(&tree, absolute, caller.domain) })
        }
    }

    /// The absolute path of a node; special (`@...`) paths name no node.
    private func treePath(_ path: XenStorePath) throws(XenStoreError) -> String {
        guard !path.isSpecial else { throw .store(.EINVAL, path: path.rawValue) }
        let absolute = path.resolved(for: domain)
        guard absolute.utf8.count <= XenStorePath.absoluteMaxLength else { throw .store(.EINVAL, path: path.rawValue) }
        return absolute
    }
}
