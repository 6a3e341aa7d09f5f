/// One node of the tree: its value (an octet string), its permissions, its children in creation order,
/// and the generation of its last change (used to detect transaction conflicts).
struct Node: Sendable {
    var value: [UInt8]
    var permissions: Permissions
    var children: [String]
    var generation: UInt64
}

/// A change a watch may fire for: at `path`, matched by prefix unless `exact`
/// (`exact` marks the descendants of a removed node, which fire only watches set on them).
struct Change: Sendable {
    let path: String
    let exact: Bool
    /// The node's permissions at the time; a watcher sees the change only if it may read them.
    let permissions: Permissions
}

/// What an operation did: the nodes it read or modified, and the changes watches see.
struct Effect: Sendable {
    var touched: [String] = []
    var changes: [Change] = []
}

/// The tree of nodes with xenstored's rules for creation, removal and permissions.
///
/// A value type: copying it is how a transaction takes its snapshot. Paths are absolute and
/// already validated. Every mutation bumps the generation of each node it creates or changes,
/// including a parent whose child list changes.
struct NodeTree: Sendable {
    private(set) var nodes: [String: Node]
    private var generation: UInt64 = 0

    /// A tree holding only the root, owned by domain 0 and closed to others.
    init() {
        nodes = ["/": Node(value: [], permissions: Permissions(owner: .dom0), children: [], generation: 0)]
    }

    /// The generation of the node at `path`, or nil if there is none.
    func generation(of path: String) -> UInt64? { nodes[path]?.generation }

    /// The node at `path` if `caller` may read it.
    func readable(_ path: String, by caller: DomainID) throws(XenStoreError) -> Node {
        guard let node = nodes[path] else { throw .store(.ENOENT, path: path) }
        guard node.permissions.access(for: caller).allowsRead else { throw .store(.EACCES, path: path) }
        return node
    }

    /// Sets the value at `path`, creating it and any missing ancestors.
    mutating func write(_ path: String, value: [UInt8], by caller: DomainID) throws(XenStoreError) -> Effect {
        var effect = Effect()
        if nodes[path] == nil {
            effect = try create(path, by: caller)
        } else {
            try requireWrite(path, by: caller)
        }
        nodes[path]!.value = value
        bump(path)
        effect.touched.append(path)
        effect.changes = [Change(path: path, exact: false, permissions: nodes[path]!.permissions)]
        return effect
    }

    /// Creates `path` (empty) and any missing ancestors; an existing node is left alone.
    mutating func mkdir(_ path: String, by caller: DomainID) throws(XenStoreError) -> Effect {
        guard nodes[path] == nil else { return Effect(touched: [path]) }
        var effect = try create(path, by: caller)
        effect.changes = [Change(path: path, exact: false, permissions: nodes[path]!.permissions)]
        return effect
    }

    /// Removes `path` and its subtree. Removing an absent node whose parent exists succeeds.
    mutating func rm(_ path: String, by caller: DomainID) throws(XenStoreError) -> Effect {
        guard path != "/" else { throw .store(.EINVAL, path: path) }
        let parent = Self.parent(of: path)
        guard nodes[path] != nil else {
            if nodes[parent] != nil { return Effect(touched: [path]) }
            throw .store(.ENOENT, path: path)
        }
        try requireWrite(path, by: caller)
        var effect = Effect(touched: [path, parent])
        effect.changes = [Change(path: path, exact: false, permissions: nodes[path]!.permissions)]
        for descendant in descendants(of: path) {
            effect.touched.append(descendant)
            effect.changes.append(Change(path: descendant, exact: true, permissions: nodes[descendant]!.permissions))
            nodes[descendant] = nil
        }
        nodes[path] = nil
        nodes[parent]!.children.removeAll { $0 == Self.name(of: path) }
        bump(parent)
        return effect
    }

    /// Replaces the permissions of `path`. Only the owner (or domain 0) may, and only domain 0
    /// may hand the node to another owner.
    mutating func setPermissions(_ permissions: Permissions, of path: String, by caller: DomainID) throws(XenStoreError) -> Effect {
        let node = try readable(path, by: caller)
        if !caller.isPrivileged {
            guard node.permissions.owner == caller else { throw .store(.EACCES, path: path) }
            guard permissions.owner == caller else { throw .store(.EPERM, path: path) }
        }
        nodes[path]!.permissions = permissions
        bump(path)
        return Effect(touched: [path], changes: [Change(path: path, exact: false, permissions: permissions)])
    }

    /// The absolute parent path of a non-root absolute path.
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// The last component of an absolute path.
    static func name(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    /// Whether `path` equals `ancestor` or lies below it.
    static func path(_ path: String, isAtOrBelow ancestor: String) -> Bool {
        path == ancestor || ancestor == "/" || path.hasPrefix(ancestor + "/")
    }

    private func requireWrite(_ path: String, by caller: DomainID) throws(XenStoreError) {
        guard nodes[path]!.permissions.access(for: caller).allowsWrite else { throw .store(.EACCES, path: path) }
    }

    /// Creates the missing nodes down to `path`. Each new node inherits its parent's
    /// permissions; an unprivileged creator becomes its owner.
    private mutating func create(_ path: String, by caller: DomainID) throws(XenStoreError) -> Effect {
        var missing: [String] = []
        var existing = path
        while nodes[existing] == nil {
            missing.append(existing)
            existing = Self.parent(of: existing)
        }
        try requireWrite(existing, by: caller)
        var effect = Effect(touched: [existing])
        for newPath in missing.reversed() {
            let parent = Self.parent(of: newPath)
            var permissions = nodes[parent]!.permissions
            if !caller.isPrivileged { permissions.owner = caller }
            nodes[newPath] = Node(value: [], permissions: permissions, children: [], generation: 0)
            nodes[parent]!.children.append(Self.name(of: newPath))
            bump(parent)
            bump(newPath)
            effect.touched.append(newPath)
        }
        return effect
    }

    private func descendants(of path: String) -> [String] {
        nodes[path]!.children.flatMap { child -> [String] in
            let childPath = path == "/" ? "/" + child : path + "/" + child
            return [childPath] + descendants(of: childPath)
        }
    }

    private mutating func bump(_ path: String) {
        generation += 1
        nodes[path]!.generation = generation
    }
}
