// What a backend can do beyond reads and writes.

/// The backend's discard support: `feature-discard` and its properties.
public struct DiscardSupport: Hashable, Sendable {
    /// `discard-granularity`: bytes of one discardable extent (default 512).
    public var granularity: UInt32
    /// `discard-alignment`: bytes from the disk's start to the first extent (default 0).
    public var alignment: UInt32
    /// `discard-secure`: whether `BLKIF_DISCARD_SECURE` is honoured (default false).
    public var secure: Bool

    /// Discard support with the seed's defaults unless given.
    public init(granularity: UInt32 = 512, alignment: UInt32 = 0, secure: Bool = false) {
        self.granularity = granularity
        self.alignment = alignment
        self.secure = secure
    }
}

/// The optional operations and modes a backend publishes (each absent node means "no").
public struct BackendFeatures: Hashable, Sendable {
    /// `feature-barrier`: `BLKIF_OP_WRITE_BARRIER` is worth trying.
    public var barrier: Bool
    /// `feature-flush-cache`: `BLKIF_OP_FLUSH_DISKCACHE` is worth trying.
    public var flushCache: Bool
    /// `feature-discard` with its properties, or nil.
    public var discard: DiscardSupport?
    /// `feature-persistent`: the backend keeps grants mapped across requests.
    public var persistentGrants: Bool

    /// Features, none unless given.
    public init(barrier: Bool = false, flushCache: Bool = false, discard: DiscardSupport? = nil, persistentGrants: Bool = false) {
        self.barrier = barrier
        self.flushCache = flushCache
        self.discard = discard
        self.persistentGrants = persistentGrants
    }

    /// The nodes that publish these features.
    var nodes: [String: String] {
        var nodes = [
            "feature-barrier": barrier ? "1" : "0",
            "feature-flush-cache": flushCache ? "1" : "0",
            "feature-discard": discard == nil ? "0" : "1",
            "feature-persistent": persistentGrants ? "1" : "0",
        ]
        if let discard {
            nodes["discard-granularity"] = String(discard.granularity)
            nodes["discard-alignment"] = String(discard.alignment)
            nodes["discard-secure"] = discard.secure ? "1" : "0"
        }
        return nodes
    }

    /// Reads the feature nodes with their defaults.
    init(parsing nodes: NodeValues) throws(NegotiationError) {
        self.init(barrier: try nodes.flag("feature-barrier"), flushCache: try nodes.flag("feature-flush-cache"),
                  persistentGrants: try nodes.flag("feature-persistent"))
        if try nodes.flag("feature-discard") {
            discard = DiscardSupport(granularity: try nodes.number("discard-granularity", default: 512),
                                     alignment: try nodes.number("discard-alignment", default: 0),
                                     secure: try nodes.flag("discard-secure"))
        }
    }
}
