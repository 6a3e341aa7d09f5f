// What a frontend asks for when it attaches, and the platform size that needs.

import BlkifABI
import XenBus

/// A frontend's wishes: ring size, queues, queue depth, request size, persistent grants and ABI.
///
/// The backend's offer may lower each (``BlockDevice/connection`` holds what was agreed).
/// Invariants (the initializer enforces them): `queueDepth` in `1...1024`; `segments` in
/// `11...255`; `indirectSegments` in `0...256` (one indirect page, 1 MiB per request).
public struct FrontendOptions: Hashable, Sendable {
    /// Ring pages per queue wanted (a power of two, 1…16).
    public var ringPages: Int
    /// Rings wanted.
    public var queues: Int
    /// Requests in flight per queue (the slots, each with its own granted pages).
    public var queueDepth: Int
    /// Segments per request through the header and segment blocks (11: no segment blocks).
    public var segments: Int
    /// Segments per indirect request, 0 for none.
    public var indirectSegments: Int
    /// Whether to use persistent grants when the backend offers them.
    public var persistentGrants: Bool
    /// The ABI of the rings.
    public var abi: ABI
    /// How long a request may stay unanswered before the device is failed.
    public var requestTimeout: Duration

    /// The most segments one indirect request carries here: one indirect page's worth would be
    /// 512; 256 (1 MiB) keeps a slot's pages within one grant batch.
    public static let indirectSegmentLimit = 256

    /// Options brought into range as the invariants say.
    public init(ringPages: Int = 1, queues: Int = 1, queueDepth: Int = 32, segments: Int = ABI.segmentsPerHeader,
                indirectSegments: Int = 0, persistentGrants: Bool = true, abi: ABI = .native,
                requestTimeout: Duration = .seconds(30)) {
        self.ringPages = ringPages
        self.queues = max(queues, 1)
        self.queueDepth = min(max(queueDepth, 1), 1024)
        self.segments = min(max(segments, ABI.segmentsPerHeader), ABI.maximumBlockSegments)
        self.indirectSegments = min(max(indirectSegments, 0), Self.indirectSegmentLimit)
        self.persistentGrants = persistentGrants
        self.abi = abi
        self.requestTimeout = requestTimeout
    }

    /// The limits handed to XenBus negotiation.
    public var limits: FrontendLimits {
        FrontendLimits(ringPages: ringPages, maximumRequests: queueDepth, maximumSegments: segments,
                       maximumIndirectSegments: indirectSegments, queues: queues, persistentGrants: persistentGrants, abi: abi)
    }

    /// Data pages one request slot holds at most: a whole request's worth.
    var pagesPerSlot: Int { max(segments, indirectSegments) }

    /// Grant references and arena pages a loopback platform needs to attach with these options
    /// whatever the backend offers (rings, every slot's data pages and indirect page), plus room
    /// for one reconnect's overlap.
    public var grantPagesNeeded: Int {
        let perQueue = RingGeometry.maximumPageCount + queueDepth * (pagesPerSlot + (indirectSegments > 0 ? 1 : 0))
        return 2 * queues * perQueue + 16
    }
}
