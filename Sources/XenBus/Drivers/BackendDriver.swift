// The backend's driver: the transition function applied to the store.

import XenStore

/// Drives the backend end of one device: publishes its offer, watches the frontend's `state`,
/// checks the frontend's transport and moves its own `state` as ``BackendTransitions`` says.
///
/// Not thread-safe: call it from one thread. Nothing blocks except ``run(until:timeout:)``, which
/// always returns by its timeout. The rings are the caller's: ``connectRings`` maps them once
/// the transport is accepted, ``disconnectRings`` unmaps them at Closed.
public final class BackendDriver {
    /// Maps the rings of an accepted connection; a throw rejects the connection.
    public typealias RingConnect = (NegotiatedConnection) throws -> Void

    /// The device this driver is the backend of.
    public let device: VirtualBlockDevice
    /// What this backend offers.
    public let offer: BackendOffer
    /// The disk it serves.
    public let disk: DiskProperties
    /// The ring-size schemes it writes and reads.
    public let schemes: RingSizeSchemes
    /// The state last written to our `state` node.
    public private(set) var state: XenbusState = .initialising
    /// The accepted connection, from Connected until Closed.
    public private(set) var connection: NegotiatedConnection?
    /// Why the device closed, when it was not asked to (a rejected transport, a vanished frontend).
    public private(set) var closeReason: String?

    private let endpoint: DeviceEndpoint
    private let connectRings: RingConnect
    private let disconnectRings: () -> Void
    private var closeRequested = false
    /// A rejected transport is closing the device; unlike a requested close, it allows a reconnect.
    private var rejecting = false

    /// A backend for `device` acting through `store` (a session of the backend's domain).
    public init(store: any XenStore, device: VirtualBlockDevice, offer: BackendOffer = BackendOffer(), disk: DiskProperties,
                schemes: RingSizeSchemes = .both, connectRings: @escaping RingConnect = { _ in }, disconnectRings: @escaping () -> Void = {}) {
        self.device = device
        self.offer = offer
        self.disk = disk
        self.schemes = schemes
        self.connectRings = connectRings
        self.disconnectRings = disconnectRings
        endpoint = DeviceEndpoint(store: store, own: device.backendPath, peer: device.frontendPath)
    }

    /// Starts watching the frontend and takes our current state from the store.
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
            let step = BackendTransitions.next(own: state, peer: try endpoint.peerState(), closeRequested: closeRequested || rejecting)
            guard try perform(step) else { break }
        }
        return state
    }

    /// Advances until the state is one of `targets`, waking on the frontend's state changes.
    /// - Throws: ``XenBusError/timedOut(waitingFor:own:peer:after:)`` when `timeout` passes first.
    @discardableResult
    public func run(until targets: Set<XenbusState>, timeout: Duration) throws(XenBusError) -> XenbusState {
        try endpoint.run(until: targets, timeout: timeout) { () throws(XenBusError) in try advance() }
    }

    /// Starts the shutdown handshake: Closing now (still serving), Closed once the frontend is.
    public func requestClose() { closeRequested = true }

    /// Performs one step; false when it was a wait.
    private func perform(_ step: BackendStep) throws(XenBusError) -> Bool {
        switch step {
        case .wait:
            return false
        case .publishOffer:
            closeReason = nil
            try endpoint.publish(offer.nodes(schemes: schemes), state: .initWait, removing: { $0 == "error" })
            state = .initWait
        case .connect:
            try connect()
        case .beginClose:
            try move(to: .closing)
        case .finishClose:
            rejecting = false
            release()
            try move(to: .closed)
        case .abandon(let reason):
            closeReason = reason
            rejecting = false
            release()
            try move(to: .closed)
        }
        return true
    }

    /// Checks the frontend's transport, maps the rings, publishes the disk and goes to Connected;
    /// a transport that breaks a rule is named in our `error` node and we go to Closing.
    private func connect() throws(XenBusError) {
        let accepted = try endpoint.peerNodes().flatMap { nodes in
            Result { () throws(NegotiationError) in try NegotiatedConnection.accept(nodes, offer: offer, schemes: schemes) }
        }
        let negotiated: NegotiatedConnection
        switch accepted {
        case .success(let value): negotiated = value
        case .failure(let error): return try fail("frontend \(device.frontendPath): \(error)")
        }
        do { try connectRings(negotiated) } catch { return try fail("mapping the rings: \(error)") }
        connection = negotiated
        try endpoint.publish(disk.nodes, state: .connected)
        state = .connected
    }

    private func fail(_ message: String) throws(XenBusError) {
        closeReason = message
        endpoint.recordError(message)
        rejecting = true
        try move(to: .closing)
    }

    private func move(to next: XenbusState) throws(XenBusError) {
        try endpoint.setState(next)
        state = next
    }

    private func release() {
        if connection != nil { disconnectRings() }
        connection = nil
    }
}
