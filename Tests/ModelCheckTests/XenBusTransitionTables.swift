// The XenBus transition functions written out as Promela tables for Models/xenbus.pml.

import XenBus

/// `BackendTransitions.next` and `FrontendTransitions.next` evaluated on every input and
/// written as the Promela tables `Models/xenbus_transitions.pml` holds, so the model checks
/// the code's own state machine, not a transcription of it.
///
/// A peer is encoded as its state number (0...8), ``vanished`` or ``garbage``; a step as the
/// `BACKEND_*` / `FRONTEND_*` constants below. Table index:
/// `((own * peers + peer) * 2 + closeRequested) * 2 + inUse` (the backend has no `inUse`).
enum XenBusTransitionTables {
    /// The peer code of a vanished `state` node.
    static let vanished = XenbusState.allCases.count
    /// The peer code of a `state` node holding garbage.
    static let garbage = vanished + 1
    /// Peer codes.
    static let peers = garbage + 1

    /// The file's text.
    static func promela() -> String {
        var lines = [
            "/* Generated from XenBus's BackendTransitions.next and FrontendTransitions.next by",
            " * ModelCheckTests (XenBusModelTests); do not edit: BLKIF_REGENERATE_MODELS=1 rewrites it. */",
            "#define STATES \(XenbusState.allCases.count)",
            "#define VANISHED \(vanished)",
            "#define GARBAGE \(garbage)",
            "#define PEERS \(peers)",
        ]
        lines += XenbusState.allCases.map { "#define \(constant($0)) \($0.rawValue)" }
        lines += backendSteps.enumerated().map { "#define BACKEND_\($0.element) \($0.offset)" }
        lines += frontendSteps.enumerated().map { "#define FRONTEND_\($0.element) \($0.offset)" }
        lines.append("#define BACKEND_INDEX(own, peer, close) (((own) * PEERS + (peer)) * 2 + (close))")
        lines.append("#define FRONTEND_INDEX(own, peer, close, inuse) ((((own) * PEERS + (peer)) * 2 + (close)) * 2 + (inuse))")
        lines.append("byte backend_table[\(XenbusState.allCases.count * peers * 2)];")
        lines.append("byte frontend_table[\(XenbusState.allCases.count * peers * 4)];")
        lines.append("")
        lines.append("/* Every entry not set here is WAIT (0). */")
        lines.append("inline fill_tables() {")
        lines.append("    d_step {")
        for own in XenbusState.allCases {
            for peer in 0..<peers {
                for close in [false, true] {
                    let step = code(of: BackendTransitions.next(own: own, peer: peerState(peer), closeRequested: close))
                    if step != 0 { lines.append("        backend_table[BACKEND_INDEX(\(own.rawValue), \(peer), \(close ? 1 : 0))] = \(step);") }
                    for inUse in [false, true] {
                        let step = code(of: FrontendTransitions.next(own: own, peer: peerState(peer), closeRequested: close, inUse: inUse))
                        if step != 0 {
                            lines.append("        frontend_table[FRONTEND_INDEX(\(own.rawValue), \(peer), \(close ? 1 : 0), \(inUse ? 1 : 0))] = \(step);")
                        }
                    }
                }
            }
        }
        lines.append("    }")
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static let backendSteps = ["WAIT", "PUBLISH_OFFER", "CONNECT", "BEGIN_CLOSE", "FINISH_CLOSE", "ABANDON"]
    private static let frontendSteps = ["WAIT", "PUBLISH_TRANSPORT", "CONNECT", "BEGIN_CLOSE", "DEFER_CLOSE", "FINISH_CLOSE", "ABANDON"]

    private static func constant(_ state: XenbusState) -> String { state.description.uppercased() }

    private static func peerState(_ code: Int) -> PeerState {
        switch code {
        case vanished: .vanished
        case garbage: .garbage("x")
        default: .state(XenbusState(rawValue: code)!)  // safe: 0...8 are states
        }
    }

    private static func code(of step: BackendStep) -> Int {
        switch step {
        case .wait: 0
        case .publishOffer: 1
        case .connect: 2
        case .beginClose: 3
        case .finishClose: 4
        case .abandon: 5
        }
    }

    private static func code(of step: FrontendStep) -> Int {
        switch step {
        case .wait: 0
        case .publishTransport: 1
        case .connect: 2
        case .beginClose: 3
        case .deferClose: 4
        case .finishClose: 5
        case .abandon: 6
        }
    }
}
