// The two ways ends announce a multi-page ring, and the notes a frontend keeps of what it changed.

/// Which multi-page ring schemes an end reads and writes.
///
/// Our ends speak ``both``; the others describe today's peers: Linux and QEMU speak only
/// ``pageOrder``, the FreeBSD and Amazon-era frontends only ``ringPages``, and old frontends
/// neither (one page, `ring-ref`).
public struct RingSizeSchemes: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The bits.
    public let rawValue: UInt8
    /// Wraps the bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `max-ring-page-order` / `ring-page-order` (log2 of the page count; Citrix, Linux, QEMU).
    public static let pageOrder = RingSizeSchemes(rawValue: 1)
    /// `max-ring-pages` / `ring-pages` (the page count; Red Hat, Amazon, the seed's FreeBSD).
    public static let ringPages = RingSizeSchemes(rawValue: 2)
    /// Both schemes: what this package publishes and accepts.
    public static let both: RingSizeSchemes = [.pageOrder, .ringPages]
    /// Neither: one page only, named by `ring-ref`.
    public static let legacy: RingSizeSchemes = []

    /// `page-order`, `ring-pages`, `both` or `legacy`.
    public var description: String {
        switch self {
        case .both: "both"
        case .pageOrder: "page-order"
        case .ringPages: "ring-pages"
        default: "legacy"
        }
    }
}

/// A value a frontend used instead of the one the backend published, and why.
public struct Adjustment: Hashable, Sendable, CustomStringConvertible {
    /// The backend's node.
    public let node: String
    /// What the backend published.
    public let published: UInt64
    /// What the frontend uses.
    public let used: UInt64
    /// Why, in a few words ("not a power of two", "this frontend's limit").
    public let reason: String

    /// Records one adjustment.
    public init(node: String, published: UInt64, used: UInt64, reason: String) {
        self.node = node
        self.published = published
        self.used = used
        self.reason = reason
    }

    public var description: String { "\(node) \(published) → \(used): \(reason)" }
}
