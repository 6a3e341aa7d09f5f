// The backend's half of the XenBus state machine, as a pure function.

/// What a backend does next, given its own state and what it sees of the frontend's.
public enum BackendStep: Hashable, Sendable {
    /// Nothing until something changes.
    case wait
    /// Publish the offer (features, limits) and go to InitWait.
    case publishOffer
    /// Read and check the frontend's transport; connect the rings, publish the disk, go to
    /// Connected — or write the error and go to Closing.
    case connect
    /// Go to Closing; keep serving until the frontend is Closed.
    case beginClose
    /// Tear the rings down and go to Closed.
    case finishClose
    /// The frontend is gone or unreadable: tear down, go to Closed, recording why.
    case abandon(reason: String)
}

/// The backend's transition function: the seed's startup diagram and shutdown handshake,
/// with the skips it tolerates.
public enum BackendTransitions {
    /// The next step of a backend in `own` state that sees `peer`.
    ///
    /// - Initialising always publishes the offer first, so a frontend already Initialised (one
    ///   that did not wait, or one that got there before the backend started) is connected on
    ///   the next step, from InitWait.
    /// - A frontend Closing, or a close asked for locally, takes the backend to Closing; it goes
    ///   to Closed once the frontend is Closed.
    /// - A frontend back at Initialising after Closed reconnects (unless the backend itself
    ///   asked to close).
    /// - A frontend whose `state` vanished or holds garbage ends the backend in Closed.
    public static func next(own: XenbusState, peer: PeerState, closeRequested: Bool) -> BackendStep {
        guard case .state(let frontend) = peer else { return own == .closed ? .wait : .abandon(reason: "frontend \(peer)") }
        switch own {
        case .closed:
            return frontend == .initialising && !closeRequested ? .publishOffer : .wait
        case .closing:
            return frontend == .closed ? .finishClose : .wait
        default:
            break
        }
        if frontend == .closed, own != .initialising { return .finishClose }
        if closeRequested || frontend == .closing { return .beginClose }
        switch (own, frontend) {
        case (.initialising, _): return .publishOffer
        case (.initWait, .initialised), (.initWait, .connected): return .connect
        default: return .wait
        }
    }
}
