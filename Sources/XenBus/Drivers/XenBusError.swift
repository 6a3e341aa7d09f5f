// Every failure of the drivers.

import XenStore

/// Why a driver call failed.
public enum XenBusError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The store refused or failed an operation.
    case store(XenStoreError)
    /// The awaited state did not come within the time allowed.
    case timedOut(waitingFor: [XenbusState], own: XenbusState, peer: PeerState, after: Duration)
    /// The operation needs another state (e.g. reconnecting a device that is not Closed).
    case wrongState(XenbusState, expected: XenbusState)
    /// The frontend's `backend` node (named first) does not name this device's backend directory.
    case badBackendLink(String, value: String)

    public var description: String {
        switch self {
        case .store(let error): "xenstore: \(error)"
        case .timedOut(let targets, let own, let peer, let after):
            "timed out after \(after) waiting for \(targets.map(\.description).joined(separator: " or ")): at \(own), peer \(peer)"
        case .wrongState(let state, let expected): "device is \(state), expected \(expected)"
        case .badBackendLink(let node, let value):
            "\(node) is \"\(value)\", not /local/domain/<backend>/backend/<type>/<frontend>/<device> of this device"
        }
    }
}
