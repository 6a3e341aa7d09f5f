// The nodes a frontend publishes once it has set its rings up.

import BlkifABI

/// A frontend's transport: its choice plus the rings it granted, ready to publish.
///
/// Invariant: ``rings`` has ``TransportChoice/queueCount`` entries, each with the geometry's
/// page count of references.
public struct FrontendTransport: Hashable, Sendable {
    /// What the frontend chose.
    public var choice: TransportChoice
    /// Its rings, queue 0 first.
    public var rings: [QueueRing]

    /// A transport; traps if the rings do not match the choice (a local bug).
    public init(choice: TransportChoice, rings: [QueueRing]) {
        precondition(rings.count == choice.queueCount, "one ring per queue")
        precondition(rings.allSatisfy { $0.ringReferences.count == choice.geometry.pageCount }, "one reference per ring page")
        self.choice = choice
        self.rings = rings
    }

    /// The nodes, relative to the frontend's device directory, for a frontend speaking `schemes`.
    ///
    /// One page is named by `ring-ref`, several by `ring-ref0`…; `ring-page-order` is written only
    /// for several pages (a page-order backend that sees it looks for `ring-ref0`), `ring-pages`
    /// and `num-ring-pages` always. Several queues go to `queue-<n>/` subtrees under `multi-queue-num-queues`.
    public func nodes(schemes: RingSizeSchemes) -> [String: String] {
        let geometry = choice.geometry
        var nodes = [
            "protocol": geometry.abi.protocolName,
            "max-requests": String(choice.maximumRequests),
            "max-request-segments": String(choice.maximumSegments),
            "max-request-size": String(choice.maximumRequestSize),
            "feature-persistent": choice.persistentGrants ? "1" : "0",
        ]
        if schemes.contains(.pageOrder), geometry.pageCount > 1 { nodes["ring-page-order"] = String(geometry.pageOrder) }
        if schemes.contains(.ringPages) {
            // The seed's name and the one `blkif.h` documents for the same deprecated node.
            nodes["ring-pages"] = String(geometry.pageCount)
            nodes["num-ring-pages"] = String(geometry.pageCount)
        }
        if rings.count == 1 {
            nodes.merge(Self.ringNodes(rings[0], prefix: ""), uniquingKeysWith: { $1 })
        } else {
            nodes["multi-queue-num-queues"] = String(rings.count)
            for (index, ring) in rings.enumerated() {
                nodes.merge(Self.ringNodes(ring, prefix: "queue-\(index)/"), uniquingKeysWith: { $1 })
            }
        }
        return nodes
    }

    /// The connection this transport makes, as the frontend sees it.
    public var connection: NegotiatedConnection {
        NegotiatedConnection(
            abi: choice.geometry.abi, geometry: choice.geometry, queues: rings, maximumRequests: choice.maximumRequests,
            requestLimits: RequestLimits(maximumSegments: choice.maximumSegments, maximumIndirectSegments: choice.maximumIndirectSegments),
            maximumRequestSize: choice.maximumRequestSize, persistentGrants: choice.persistentGrants)
    }

    /// `ring-ref` or `ring-ref0`… and `event-channel` of one ring under `prefix`.
    private static func ringNodes(_ ring: QueueRing, prefix: String) -> [String: String] {
        var nodes = [prefix + "event-channel": String(ring.eventChannel.rawValue)]
        if ring.ringReferences.count == 1 {
            nodes[prefix + "ring-ref"] = String(ring.ringReferences[0].rawValue)
        } else {
            for (page, reference) in ring.ringReferences.enumerated() {
                nodes[prefix + "ring-ref\(page)"] = String(reference.rawValue)
            }
        }
        return nodes
    }
}
