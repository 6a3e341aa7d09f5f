/// A node's permission list, modelled on xenstored's.
///
/// The first entry names the owner and the access every domain not listed gets; further
/// entries grant a specific domain its own access. The owner always has read and write;
/// domain 0 is privileged and bypasses the list.
public struct Permissions: Hashable, Sendable, CustomStringConvertible {
    /// One access level, spelled as on the wire: `n`one, `r`ead, `w`rite, `b`oth.
    public enum Access: Character, Hashable, Sendable {
        case none = "n", read = "r", write = "w", both = "b"

        /// Whether this level allows reading.
        public var allowsRead: Bool { self == .read || self == .both }
        /// Whether this level allows writing.
        public var allowsWrite: Bool { self == .write || self == .both }
    }

    /// A per-domain grant beyond the default.
    public struct Grant: Hashable, Sendable {
        /// The domain the grant is for.
        public var domain: DomainID
        /// What it may do.
        public var access: Access

        /// Creates a grant.
        public init(_ domain: DomainID, _ access: Access) {
            self.domain = domain
            self.access = access
        }
    }

    /// The domain that owns the node (full access).
    public var owner: DomainID
    /// Access for domains that are neither the owner nor listed in `grants`.
    public var others: Access
    /// Per-domain access, first match wins.
    public var grants: [Grant]

    /// Creates a permission list.
    public init(owner: DomainID, others: Access = .none, grants: [Grant] = []) {
        self.owner = owner
        self.others = others
        self.grants = grants
    }

    /// Parses the wire form: one string per entry such as `["n0", "r5"]`; nil if malformed.
    public init?(wireEntries: [String]) {
        let parsed = wireEntries.map(Self.parseEntry)
        guard let first = parsed.first, let head = first, parsed.allSatisfy({ $0 != nil }) else { return nil }
        self.init(owner: head.domain, others: head.access, grants: parsed.dropFirst().compactMap { $0 })
    }

    /// The wire form: the owner entry followed by the grants, e.g. `["n0", "r5"]`.
    public var wireEntries: [String] {
        ([Grant(owner, others)] + grants).map { "\($0.access.rawValue)\($0.domain.rawValue)" }
    }

    /// The access `domain` has to a node carrying these permissions.
    public func access(for domain: DomainID) -> Access {
        if domain.isPrivileged || domain == owner { return .both }
        return grants.first { $0.domain == domain }?.access ?? others
    }

    /// The wire entries joined by commas.
    public var description: String { wireEntries.joined(separator: ",") }

    private static func parseEntry(_ entry: String) -> Grant? {
        guard let letter = entry.first, let access = Access(rawValue: letter) else { return nil }
        let digits = entry.dropFirst()
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              let id = UInt16(digits) else { return nil }
        return Grant(DomainID(id), access)
    }
}
