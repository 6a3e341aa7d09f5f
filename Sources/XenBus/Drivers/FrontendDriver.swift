// The frontend's driver: the transition function applied to the store.

import XenStore

/// Drives the frontend end of one device: watches the backend's `state`, negotiates, and moves
/// its own `state` as ``FrontendTransitions`` says.
///
/// Not thread-safe: call it from one thread. Nothing blocks except ``run(until:timeout:)``, which
/// always returns by its timeout. The rings themselves are the caller's: ``setUpRings`` grants
/// them when the transport is chosen, ``tearDownRings`` releases them at Closed.
public final class FrontendDriver {
    /// Grants the rings of a chosen transport: one ``QueueRing`` per queue, each with the
    /// geometry's page count of references.
    public typealias RingSetup = (TransportChoice) throws -> [QueueRing]

    /// The device this driver is the frontend of.
    public let device: VirtualBlockDevice
    /// This frontend's limits.
    public let limits: FrontendLimits
    /// The ring-size schemes it reads and writes.
    public let schemes: RingSizeSchemes
    /// The state last written to our `state` node.
    public private(set) var state: XenbusState = .initialising
    /// The backend's offer, once read.
    public private(set) var offer: BackendOffer?
    /// What the frontend changed of the offer, and why.
    public private(set) var adjustments: [Adjustment] = []
    /// The negotiated connection, from Initialised until Closed. At Connected its indirect-segment
    /// limit is settled again from the backend's final word (see ``TransportChoice`` for what
    /// the rings were set up with): a frontend sizes its indirect requests by this one.
    public private(set) var connection: NegotiatedConnection?
    /// The disk, from Connected on.
    public private(set) var disk: DiskProperties?
    /// Why the device closed, when it was not asked to (a vanished backend, a rejected value).
    public private(set) var closeReason: String?
    /// Users holding the device open; a close waits for the last to leave.
    public private(set) var users = 0

    private let endpoint: DeviceEndpoint
    private let setUpRings: RingSetup
    private let tearDownRings: () -> Void
    private var closeRequested = false

    /// A frontend for `device` acting through `store` (a session of the frontend's domain).
    public init(store: any XenStore, device: VirtualBlockDevice, limits: FrontendLimits = FrontendLimits(),
                schemes: RingSizeSchemes = .both, setUpRings: @escaping RingSetup, tearDownRings: @escaping () -> Void = {}) {
        self.device = device
        self.limits = limits
        self.schemes = schemes
        self.setUpRings = setUpRings
        self.tearDownRings = tearDownRings
        endpoint = DeviceEndpoint(store: store, own: device.frontendPath, peer: device.backendPath)
    }

    /// Starts watching the backend and takes our current state from the store.
    public func start() throws(XenBusError) {
        try endpoint.watchPeer()
        if case .state(let current) = try endpoint.ownState() { state = current }
    }

    /// Stops watching.
    public func stop() { endpoint.unwatchPeer() }

    /// Takes every step the current states allow, without waiting; returns the state reached.
    @discardableResult
    public func advance() throws(XenBusError) -> XenbusState {
        for _ in 0..<8 {  // each step changes our state; a handful covers any sequence
            let step = FrontendTransitions.next(own: state, peer: try endpoint.peerState(), closeRequested: closeRequested, inUse: users > 0)
            guard try perform(step) else { break }
        }
        return state
    }

    /// Advances until the state is one of `targets`, waking on the backend's state changes.
    /// - Throws: ``XenBusError/timedOut(waitingFor:own:peer:after:)`` when `timeout` passes first.
    @discardableResult
    public func run(until targets: Set<XenbusState>, timeout: Duration) throws(XenBusError) -> XenbusState {
        try endpoint.run(until: targets, timeout: timeout) { () throws(XenBusError) in try advance() }
    }

    /// Asks for the device to close: at once if no one uses it, else when the last user leaves.
    public func requestClose() { closeRequested = true }

    /// Marks one more user of the device (a mounted filesystem, an open handle).
    public func beginUse() { users += 1 }

    /// Marks a user gone; a deferred close proceeds on the next ``advance()``.
    public func endUse() { users = max(users - 1, 0) }

    /// Brings a Closed frontend back to Initialising so it negotiates again.
    /// - Throws: ``XenBusError/wrongState(_:expected:)`` unless Closed.
    public func reconnect() throws(XenBusError) {
        guard state == .closed else { throw .wrongState(state, expected: .closed) }
        closeRequested = false
        closeReason = nil
        adjustments = []
        disk = nil
        try endpoint.setState(.initialising)
        state = .initialising
    }

    /// Performs one step; false when it was a wait.
    private func perform(_ step: FrontendStep) throws(XenBusError) -> Bool {
        switch step {
        case .wait, .deferClose:
            return false
        case .publishTransport:
            try publishTransport()
        case .connect:
            try readDisk()
        case .beginClose:
            try move(to: .closing)
        case .finishClose:
            release()
            try move(to: .closed)
        case .abandon(let reason):
            closeReason = reason
            release()
            try move(to: .closed)
        }
        return true
    }

    /// Reads the offer, chooses, sets the rings up and publishes them with state Initialised.
    private func publishTransport() throws(XenBusError) {
        let chosen: (BackendOffer, [Adjustment])
        switch try endpoint.peerNodes().flatMap({ nodes in Result { () throws(NegotiationError) in try BackendOffer.parse(nodes, schemes: schemes) } }) {
        case .success(let parsed): chosen = parsed
        case .failure(let error): return try fail(error.description)
        }
        let (choice, clamped) = TransportChoice.choose(from: chosen.0, limits: limits)
        let rings: [QueueRing]
        do { rings = try setUpRings(choice) } catch { return try fail("setting up the rings: \(error)") }
        let transport = FrontendTransport(choice: choice, rings: rings)
        do {
            try endpoint.publish(transport.nodes(schemes: schemes), state: .initialised, removing: Self.isTransportNode)
        } catch {
            tearDownRings()
            throw error
        }
        offer = chosen.0
        adjustments = chosen.1 + clamped
        connection = transport.connection
        state = .initialised
    }

    /// Reads the disk the backend published, and its features again, and goes to Connected.
    ///
    /// Linux's blkback writes `feature-flush-cache`, `feature-barrier`, `feature-discard`,
    /// `feature-persistent` and `feature-max-indirect-segments` only as it connects, so what
    /// the offer said at InitWait is settled here, as Linux's blkfront does: persistent grants
    /// only when both ends say so, indirect segments the smaller of the backend's final word and
    /// the frontend's limit. That may differ from what the rings were set up with at Initialised:
    /// the frontend sizes its indirect resources now, as Linux's blkfront does as it connects.
    private func readDisk() throws(XenBusError) {
        let settled = try endpoint.peerNodes().flatMap { nodes in
            Result { () throws(NegotiationError) in
                (try DiskProperties(parsing: nodes), try BackendFeatures(parsing: nodes),
                 Int(try nodes.number("feature-max-indirect-segments", as: UInt32.self, default: 0)))
            }
        }
        switch settled {
        case .success(let (properties, features, indirect)):
            disk = properties
            offer?.features = features
            offer?.maximumIndirectSegments = indirect
            connection?.persistentGrants = limits.persistentGrants && features.persistentGrants
            connection?.requestLimits.maximumIndirectSegments = min(indirect, limits.maximumIndirectSegments)
        case .failure(let error): return try fail(error.description)
        }
        try move(to: .connected)
    }

    /// Records why negotiation failed where a toolstack looks, and closes.
    private func fail(_ message: String) throws(XenBusError) {
        closeReason = message
        endpoint.recordError(message)
        closeRequested = true
        try move(to: .closing)
    }

    private func move(to next: XenbusState) throws(XenBusError) {
        try endpoint.setState(next)
        state = next
    }

    private func release() {
        if connection != nil { tearDownRings() }
        connection = nil
    }

    /// The nodes a transport writes, removed before a new one is published.
    static func isTransportNode(_ name: String) -> Bool {
        name.hasPrefix("ring-ref") || name.hasPrefix("queue-") || name == "event-channel" || name == "ring-page-order"
            || name == "ring-pages" || name == "num-ring-pages" || name == "multi-queue-num-queues" || name == "error"
    }
}
