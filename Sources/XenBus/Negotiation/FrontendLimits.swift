// What a frontend wants, and what it chooses from a backend's offer.

import BlkifABI

/// A frontend's own limits and wishes.
///
/// Invariants (the initializer enforces them): ``ringPages`` a power of two within
/// `1...RingGeometry.maximumPageCount`; ``maximumSegments`` in `11...255`; ``queues`` ≥ 1.
public struct FrontendLimits: Hashable, Sendable {
    /// Ring pages wanted (rounded down to a power of two, at most what this package maps).
    public var ringPages: Int
    /// Most requests in flight wanted, or nil for as many as the ring holds.
    public var maximumRequests: Int?
    /// Most segments per read or write.
    public var maximumSegments: Int
    /// Most segments per indirect request, 0 for none.
    public var maximumIndirectSegments: Int
    /// Rings wanted.
    public var queues: Int
    /// Whether to use persistent grants when the backend offers them.
    public var persistentGrants: Bool
    /// The ABI this frontend's rings are laid out in.
    public var abi: ABI

    /// A frontend's limits, brought into range as the invariants say.
    public init(ringPages: Int = 1, maximumRequests: Int? = nil, maximumSegments: Int = ABI.segmentsPerHeader,
                maximumIndirectSegments: Int = 0, queues: Int = 1, persistentGrants: Bool = false, abi: ABI = .native) {
        let pages = min(max(ringPages, 1), RingGeometry.maximumPageCount)
        self.ringPages = 1 << (Int.bitWidth - 1 - pages.leadingZeroBitCount)
        self.maximumRequests = maximumRequests.map { max($0, 1) }
        self.maximumSegments = min(max(maximumSegments, ABI.segmentsPerHeader), ABI.maximumBlockSegments)
        self.maximumIndirectSegments = min(max(maximumIndirectSegments, 0), RequestLimits.indirectSegmentCeiling)
        self.queues = max(queues, 1)
        self.persistentGrants = persistentGrants
        self.abi = abi
    }
}

/// What a frontend decided from a backend's offer, before it has rings to name.
public struct TransportChoice: Hashable, Sendable {
    /// The rings' shape in the frontend's ABI.
    public var geometry: RingGeometry
    /// Rings to set up.
    public var queueCount: Int
    /// Most requests in flight (`max-requests`).
    public var maximumRequests: Int
    /// Most segments per read or write (`max-request-segments`).
    public var maximumSegments: Int
    /// Most bytes per request (`max-request-size`).
    public var maximumRequestSize: Int
    /// Most segments per indirect request.
    public var maximumIndirectSegments: Int
    /// Whether the frontend asks for persistent grants (its `feature-persistent`): they are used
    /// when the backend's own `feature-persistent`, read again at Connected, says so too.
    public var persistentGrants: Bool

    /// The frontend's choice: each value the smaller of the offer and the frontend's limit, the
    /// ring no larger than either, `max-requests` no more than the ring holds; each offer value
    /// the frontend could not take as published gets an ``Adjustment`` saying why.
    public static func choose(from offer: BackendOffer, limits: FrontendLimits) -> (TransportChoice, [Adjustment]) {
        var adjustments: [Adjustment] = []
        func note(_ node: String, _ published: Int, _ used: Int, _ reason: String) {
            if published > used { adjustments.append(Adjustment(node: node, published: UInt64(published), used: UInt64(used), reason: reason)) }
        }
        let pages = min(offer.maximumRingPages, limits.ringPages)
        note("max-ring-pages", offer.maximumRingPages, pages, "this frontend uses at most \(limits.ringPages) pages")
        // safe: pages is a power of two within 1...maximumPageCount, as limits.ringPages is.
        let geometry = try! RingGeometry(pageCount: pages, abi: limits.abi.resolved)
        let entries = geometry.entryCount
        let requests = min(offer.maximumRequests ?? entries, entries, limits.maximumRequests ?? entries)
        note("max-requests", offer.maximumRequests ?? entries, requests,
             requests == entries ? "the ring holds \(entries) entries" : "this frontend's limit")
        let segments = min(offer.maximumSegments, limits.maximumSegments)
        note("max-request-segments", offer.maximumSegments, segments, "this frontend's limit")
        let size = min(offer.maximumRequestSize, segments * RingGeometry.pageSize)
        note("max-request-size", offer.maximumRequestSize, size, "\(segments) segments of one page")
        let indirect = min(offer.maximumIndirectSegments, limits.maximumIndirectSegments)
        note("feature-max-indirect-segments", offer.maximumIndirectSegments, indirect, "this frontend's limit")
        let queues = min(offer.maximumQueues, limits.queues)
        let choice = TransportChoice(geometry: geometry, queueCount: queues, maximumRequests: requests, maximumSegments: segments,
                                     maximumRequestSize: size, maximumIndirectSegments: indirect,
                                     persistentGrants: limits.persistentGrants)
        return (choice, adjustments)
    }
}
