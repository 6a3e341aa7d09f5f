// The one result of negotiation, the same value on both ends.

import BlkifABI

/// One ring of a connection: its pages' grant references and its event channel.
///
/// Invariant (of a negotiated connection): ``ringReferences`` has one reference per ring page.
public struct QueueRing: Hashable, Sendable {
    /// The grant references of the ring's pages, page 0 first (`ring-ref` or `ring-ref<i>`).
    public var ringReferences: [GrantRef]
    /// The ring's event channel (`event-channel`).
    public var eventChannel: EventChannelPort

    /// One ring's transport.
    public init(ringReferences: [GrantRef], eventChannel: EventChannelPort) {
        self.ringReferences = ringReferences
        self.eventChannel = eventChannel
    }
}

/// What both ends agreed: the ABI, the ring geometry of every queue, the request limits and the
/// features. ``geometry`` and ``requestLimits`` are exactly what BlkifRing's rings are built from.
///
/// Invariants: ``queues`` is not empty and each has ``geometry``'s page count of references;
/// ``maximumRequests`` in `1...geometry.entryCount`; ``maximumRequestSize`` at most
/// `requestLimits.maximumSegments` pages.
public struct NegotiatedConnection: Hashable, Sendable {
    /// The ABI of every ring, resolved (never `.native`).
    public var abi: ABI
    /// The shape of every queue's ring.
    public var geometry: RingGeometry
    /// The rings, queue 0 first.
    public var queues: [QueueRing]
    /// Most requests the frontend keeps in flight on one ring.
    public var maximumRequests: Int
    /// Segment limits for decoding requests (capacity left unknown until the disk is connected).
    public var requestLimits: RequestLimits
    /// Most bytes one request references.
    public var maximumRequestSize: Int
    /// Whether both ends use persistent grants.
    public var persistentGrants: Bool
}
