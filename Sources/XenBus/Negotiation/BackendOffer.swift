// What a backend publishes before the frontend chooses: its limits and features.

import BlkifABI

/// A backend's limits and features, as it publishes them at InitWait and as a frontend reads them.
///
/// Invariants: ``maximumRingPages`` is a power of two ≥ 1; ``maximumSegments`` in `11...255`;
/// ``maximumQueues`` ≥ 1. Built by ``init(maximumRingPages:maximumSegments:maximumIndirectSegments:maximumQueues:features:)``
/// for our backend, or parsed from a backend's nodes by ``parse(_:schemes:)``.
public struct BackendOffer: Hashable, Sendable {
    /// Most ring pages the backend maps (`max-ring-pages`, `2^max-ring-page-order`).
    public var maximumRingPages: Int
    /// Most requests in flight (`max-requests`), or nil when the node is absent, which means as
    /// many as the chosen ring holds.
    public var maximumRequests: Int?
    /// Most segments in a read or write (`max-request-segments`).
    public var maximumSegments: Int
    /// Most bytes one request may reference (`max-request-size`).
    public var maximumRequestSize: Int
    /// Most segments of an indirect request (`feature-max-indirect-segments`), 0 for none.
    public var maximumIndirectSegments: Int
    /// Most rings (`multi-queue-max-queues`).
    public var maximumQueues: Int
    /// Optional operations and modes.
    public var features: BackendFeatures

    /// Our backend's offer. Values are brought into range rather than refused: ring pages are
    /// rounded down to a power of two within `1...RingGeometry.maximumPageCount` (what this package
    /// maps), segments into `11...255`, indirect segments into `0...4096`, queues to at least 1.
    /// `max-requests` is the largest ring's entry count in the native ABI and `max-request-size`
    /// the segments' pages.
    public init(maximumRingPages: Int = RingGeometry.maximumPageCount, maximumSegments: Int = ABI.segmentsPerHeader,
                maximumIndirectSegments: Int = 0, maximumQueues: Int = 1, features: BackendFeatures = BackendFeatures()) {
        let pages = min(max(maximumRingPages, 1), RingGeometry.maximumPageCount)
        self.maximumRingPages = 1 << (Int.bitWidth - 1 - pages.leadingZeroBitCount)
        self.maximumSegments = min(max(maximumSegments, ABI.segmentsPerHeader), ABI.maximumBlockSegments)
        self.maximumRequestSize = self.maximumSegments * RingGeometry.pageSize
        self.maximumIndirectSegments = min(max(maximumIndirectSegments, 0), RequestLimits.indirectSegmentCeiling)
        self.maximumQueues = max(maximumQueues, 1)
        self.maximumRequests = RingGeometry.entryCount(ringBytes: self.maximumRingPages * RingGeometry.pageSize,
                                                       entrySize: ABI.native.layout.entrySize)
        self.features = features
    }

    /// log2 of ``maximumRingPages`` (`max-ring-page-order`).
    public var maximumRingPageOrder: Int { maximumRingPages.trailingZeroBitCount }

    /// The nodes the backend writes at InitWait, for a backend that speaks `schemes`.
    public func nodes(schemes: RingSizeSchemes) -> [String: String] {
        var nodes = features.nodes
        if schemes.contains(.pageOrder) { nodes["max-ring-page-order"] = String(maximumRingPageOrder) }
        if schemes.contains(.ringPages) { nodes["max-ring-pages"] = String(maximumRingPages) }
        if let maximumRequests { nodes["max-requests"] = String(maximumRequests) }
        nodes["max-request-segments"] = String(maximumSegments)
        nodes["max-request-size"] = String(maximumRequestSize)
        nodes["multi-queue-max-queues"] = String(maximumQueues)
        if maximumIndirectSegments > 0 { nodes["feature-max-indirect-segments"] = String(maximumIndirectSegments) }
        return nodes
    }
}
