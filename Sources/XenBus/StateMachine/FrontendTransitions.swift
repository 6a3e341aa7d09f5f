// The frontend's half of the XenBus state machine, as a pure function.

/// What a frontend does next, given its own state and what it sees of the backend's.
public enum FrontendStep: Hashable, Sendable {
    /// Nothing until something changes.
    case wait
    /// Read the backend's offer, set up the rings, publish the transport, go to Initialised.
    case publishTransport
    /// Read the disk's properties and go to Connected.
    case connect
    /// Stop issuing requests and go to Closing.
    case beginClose
    /// A close is due but users still hold the device: stay until the last one leaves.
    case deferClose
    /// Release the rings and go to Closed.
    case finishClose
    /// The backend is gone or unreadable: go to Closed, recording why.
    case abandon(reason: String)
}

/// The frontend's transition function: the seed's startup diagram and shutdown handshake,
/// with the skips it tolerates.
public enum FrontendTransitions {
    /// The next step of a frontend in `own` state that sees `peer`.
    ///
    /// - A backend at InitWait, or one that skipped it and is already Connected, gets the
    ///   transport; a backend Connected after that gets the frontend Connected.
    /// - A backend Closing or Closed, or a close asked for locally (`closeRequested`), takes the
    ///   frontend through Closing to Closed, deferred while `inUse`; a backend Closed while the
    ///   frontend still starts up is a backend about to restart, and is waited for.
    /// - A backend whose `state` vanished or holds garbage ends the frontend in Closed.
    /// - Closed stays Closed until the frontend is brought back to Initialising.
    public static func next(own: XenbusState, peer: PeerState, closeRequested: Bool, inUse: Bool) -> FrontendStep {
        guard own != .closed else { return .wait }
        guard case .state(let backend) = peer else { return .abandon(reason: "backend \(peer)") }
        let backendLeaving = backend == .closing || (backend == .closed && own != .initialising)
        if closeRequested || backendLeaving {
            if inUse { return .deferClose }
            if own == .closing { return backend == .closing || backend == .closed ? .finishClose : .wait }
            return backend == .closed ? .finishClose : .beginClose
        }
        switch (own, backend) {
        case (.initialising, .initWait), (.initialising, .connected): return .publishTransport
        case (.initialised, .connected): return .connect
        default: return .wait
        }
    }
}
