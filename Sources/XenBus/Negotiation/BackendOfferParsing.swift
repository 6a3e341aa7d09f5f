// A frontend reading a backend's offer: the documented defaults, the seed's scheme order and rounding.

import BlkifABI

extension BackendOffer {
    /// Largest page count a published order stands for; anything above is clamped by every frontend.
    static let pageCountCeiling = 1 << 32

    /// Reads a backend's offer as a frontend that speaks `schemes` does.
    ///
    /// Absent nodes take the seed's defaults (one page, 11 segments of one page each, one
    /// queue, no features). The page count comes from `max-ring-page-order`, then
    /// `max-ring-pages` overrides it when both are read (the seed's order); a `max-ring-pages`
    /// that is not a power of two is rounded down, 0 is taken as 1, segments are brought into
    /// `11...255`, a `max-requests` of 0 is taken as absent and a `max-request-size` below one
    /// page as one page, each with an ``Adjustment``.
    /// - Throws: ``NegotiationError/malformed(node:value:expected:)`` for a value that is not
    ///   plain decimal within its type.
    public static func parse(_ nodes: NodeValues, schemes: RingSizeSchemes) throws(NegotiationError) -> (BackendOffer, [Adjustment]) {
        var adjustments: [Adjustment] = []
        var offer = BackendOffer(maximumRingPages: 1)
        offer.maximumRingPages = try ringPages(nodes, schemes: schemes, adjustments: &adjustments)
        offer.maximumRequests = try nodes.numberIfPresent("max-requests", as: UInt32.self).map(Int.init)
        if offer.maximumRequests == 0 {
            adjustments.append(Adjustment(node: "max-requests", published: 0, used: 0, reason: "zero taken as absent: as many as the ring holds"))
            offer.maximumRequests = nil
        }
        let segments = Int(try nodes.number("max-request-segments", as: UInt32.self, default: UInt32(ABI.segmentsPerHeader)))
        offer.maximumSegments = min(max(segments, ABI.segmentsPerHeader), ABI.maximumBlockSegments)
        if offer.maximumSegments != segments {
            adjustments.append(Adjustment(node: "max-request-segments", published: UInt64(segments), used: UInt64(offer.maximumSegments),
                                          reason: "outside the \(ABI.segmentsPerHeader)...\(ABI.maximumBlockSegments) a request can carry"))
        }
        let size = Int(try nodes.number("max-request-size", as: UInt32.self, default: UInt32(ABI.segmentsPerHeader * RingGeometry.pageSize)))
        offer.maximumRequestSize = max(size, RingGeometry.pageSize)
        if size < RingGeometry.pageSize {
            adjustments.append(Adjustment(node: "max-request-size", published: UInt64(size), used: UInt64(RingGeometry.pageSize),
                                          reason: "below the one page every request may reference"))
        }
        offer.maximumIndirectSegments = Int(try nodes.number("feature-max-indirect-segments", as: UInt32.self, default: 0))
        offer.maximumQueues = max(Int(try nodes.number("multi-queue-max-queues", as: UInt32.self, default: 1)), 1)
        offer.features = try BackendFeatures(parsing: nodes)
        return (offer, adjustments)
    }

    /// The offered page count under the seed's rules.
    private static func ringPages(_ nodes: NodeValues, schemes: RingSizeSchemes, adjustments: inout [Adjustment]) throws(NegotiationError) -> Int {
        var pages = 1
        if schemes.contains(.pageOrder), let order = try nodes.numberIfPresent("max-ring-page-order", as: UInt32.self) {
            pages = order >= 32 ? pageCountCeiling : 1 << Int(order)
        }
        if schemes.contains(.ringPages), let published = try nodes.numberIfPresent("max-ring-pages", as: UInt32.self) {
            pages = max(Int(published), 1)
            if published == 0 {
                adjustments.append(Adjustment(node: "max-ring-pages", published: 0, used: 1, reason: "zero pages means one"))
            } else if pages & (pages - 1) != 0 {
                let rounded = 1 << (Int.bitWidth - 1 - pages.leadingZeroBitCount)
                adjustments.append(Adjustment(node: "max-ring-pages", published: UInt64(published), used: UInt64(rounded),
                                              reason: "not a power of two, rounded down"))
                pages = rounded
            }
        }
        return pages
    }
}
