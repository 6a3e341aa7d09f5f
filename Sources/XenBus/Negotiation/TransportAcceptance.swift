// A backend checking a frontend's transport against what it offered.

import BlkifABI

extension NegotiatedConnection {
    /// The connection a frontend's published transport asks for, as a backend that offered
    /// `offer` and speaks `schemes` reads it; every node is checked, nothing is trusted.
    ///
    /// Absent nodes take the seed's defaults (one page, one queue, the native ABI, as many
    /// requests as the ring holds, 11 segments). `arm-abi` is accepted as the x86_64 layout it is.
    /// - Throws: a ``NegotiationError`` naming the first node that is malformed, exceeds the
    ///   offer, disagrees with another node or is missing.
    public static func accept(_ nodes: NodeValues, offer: BackendOffer, schemes: RingSizeSchemes) throws(NegotiationError) -> NegotiatedConnection {
        let abi = try protocolABI(nodes["protocol"])
        let pages = try ringPages(nodes, offer: offer, schemes: schemes)
        guard let geometry = try? RingGeometry(pageCount: pages, abi: abi) else {
            throw .aboveOffer(node: "ring-pages", value: UInt64(pages), limit: UInt64(RingGeometry.maximumPageCount))
        }
        let queues = try queueRings(nodes, pages: pages, offer: offer)
        let requests = try nodes.number("max-requests", as: UInt32.self, default: UInt32(geometry.entryCount))
        guard requests > 0 else { throw .zero(node: "max-requests") }
        guard requests <= geometry.entryCount else { throw .requestsExceedRing(requests: UInt64(requests), entries: geometry.entryCount) }
        let segments = try bounded("max-request-segments", in: nodes, default: ABI.segmentsPerHeader, limit: offer.maximumSegments)
        let segmentLimit = max(segments, ABI.segmentsPerHeader)
        let size = try bounded("max-request-size", in: nodes, default: ABI.segmentsPerHeader * RingGeometry.pageSize,
                               limit: min(offer.maximumRequestSize, segmentLimit * RingGeometry.pageSize))
        return NegotiatedConnection(
            abi: abi, geometry: geometry, queues: queues, maximumRequests: Int(requests),
            requestLimits: RequestLimits(maximumSegments: segmentLimit, maximumIndirectSegments: offer.maximumIndirectSegments),
            maximumRequestSize: size, persistentGrants: try nodes.flag("feature-persistent") && offer.features.persistentGrants)
    }

    /// The ABI a `protocol` node names; absent means native.
    static func protocolABI(_ name: String?) throws(NegotiationError) -> ABI {
        if name == "arm-abi" { return .x86_64 }  // arm's blkif layout is x86_64's
        guard let abi = try? ABI(protocolName: name) else { throw .unknownProtocol(name ?? "") }
        return abi.resolved
    }

    /// The page count from `ring-page-order` and `ring-pages` (or `num-ring-pages`, the name
    /// `blkif.h` gives the deprecated node), as far as `schemes` reads them.
    private static func ringPages(_ nodes: NodeValues, offer: BackendOffer, schemes: RingSizeSchemes) throws(NegotiationError) -> Int {
        let order = schemes.contains(.pageOrder) ? try nodes.numberIfPresent("ring-page-order", as: UInt32.self) : nil
        let pages = schemes.contains(.ringPages) ? try pageCount(nodes) : nil
        if let order, Int(order) > offer.maximumRingPageOrder {
            throw .aboveOffer(node: "ring-page-order", value: UInt64(order), limit: UInt64(offer.maximumRingPageOrder))
        }
        if let pages {
            guard pages > 0 else { throw .zero(node: "ring-pages") }
            guard pages & (pages - 1) == 0 else { throw .notPowerOfTwo(node: "ring-pages", value: UInt64(pages)) }
            guard Int(pages) <= offer.maximumRingPages else {
                throw .aboveOffer(node: "ring-pages", value: UInt64(pages), limit: UInt64(offer.maximumRingPages))
            }
        }
        if let order, let pages, 1 << Int(order) != Int(pages) {
            throw .inconsistentRingSize(pageOrder: UInt64(order), pages: UInt64(pages))
        }
        return pages.map(Int.init) ?? order.map { 1 << Int($0) } ?? 1
    }

    /// `ring-pages` (the seed's name) or `num-ring-pages` (`blkif.h`'s); both present must agree.
    private static func pageCount(_ nodes: NodeValues) throws(NegotiationError) -> UInt32? {
        let seed = try nodes.numberIfPresent("ring-pages", as: UInt32.self)
        let header = try nodes.numberIfPresent("num-ring-pages", as: UInt32.self)
        if let seed, let header, seed != header {
            throw .malformed(node: "num-ring-pages", value: String(header), expected: "equal to ring-pages = \(seed)")
        }
        return seed ?? header
    }

    /// The rings: top-level for one queue, `queue-<n>/` for several.
    private static func queueRings(_ nodes: NodeValues, pages: Int, offer: BackendOffer) throws(NegotiationError) -> [QueueRing] {
        let count = try nodes.number("multi-queue-num-queues", as: UInt32.self, default: 1)
        guard count > 0 else { throw .zero(node: "multi-queue-num-queues") }
        guard count <= offer.maximumQueues else {
            throw .aboveOffer(node: "multi-queue-num-queues", value: UInt64(count), limit: UInt64(offer.maximumQueues))
        }
        guard count > 1 else { return [try queueRing(nodes, prefix: "", pages: pages)] }
        var rings: [QueueRing] = []
        for index in 0..<Int(count) { rings.append(try queueRing(nodes, prefix: "queue-\(index)/", pages: pages)) }
        return rings
    }

    /// One ring's references and event channel under `prefix`.
    private static func queueRing(_ nodes: NodeValues, prefix: String, pages: Int) throws(NegotiationError) -> QueueRing {
        let single = prefix + "ring-ref", first = prefix + "ring-ref0"
        if nodes.contains(single), nodes.contains(first) { throw .bothRingReferenceForms(directory: String(prefix.dropLast())) }
        var references: [GrantRef] = []
        if pages == 1, nodes.contains(single) {
            references = [GrantRef(try nodes.number(single, as: UInt32.self, default: 0))]
        } else {
            for page in 0..<pages {
                guard let reference = try nodes.numberIfPresent(prefix + "ring-ref\(page)", as: UInt32.self) else {
                    throw .missing(node: pages == 1 ? single : prefix + "ring-ref\(page)")
                }
                references.append(GrantRef(reference))
            }
        }
        guard let port = try nodes.numberIfPresent(prefix + "event-channel", as: UInt32.self) else {
            throw .missing(node: prefix + "event-channel")
        }
        return QueueRing(ringReferences: references, eventChannel: EventChannelPort(port))
    }

    /// A count node with a default, at least 1 and at most `limit`.
    private static func bounded(_ node: String, in nodes: NodeValues, default defaultValue: Int, limit: Int) throws(NegotiationError) -> Int {
        let value = try nodes.number(node, as: UInt32.self, default: UInt32(defaultValue))
        guard value > 0 else { throw .zero(node: node) }
        guard Int(value) <= limit else { throw .aboveOffer(node: node, value: UInt64(value), limit: UInt64(limit)) }
        return Int(value)
    }
}
