// The XenBus states each end of a device publishes in its `state` node.

import XenStore

/// The state an end of a split device publishes in its `state` node (`enum xenbus_state` of
/// Xen's `io/xenbus.h`), written as a decimal number.
public enum XenbusState: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `XenbusStateUnknown`: the node is being set up.
    case unknown = 0
    /// `XenbusStateInitialising`: the toolstack created the device; the end is starting.
    case initialising = 1
    /// `XenbusStateInitWait`: the backend published its features and waits for the frontend.
    case initWait = 2
    /// `XenbusStateInitialised`: the frontend published its transport (ring, event channel).
    case initialised = 3
    /// `XenbusStateConnected`: the end is serving (backend) or using (frontend) the ring.
    case connected = 4
    /// `XenbusStateClosing`: the end is shutting the device down.
    case closing = 5
    /// `XenbusStateClosed`: the end has released everything.
    case closed = 6
    /// `XenbusStateReconfiguring`: not used by blkif.
    case reconfiguring = 7
    /// `XenbusStateReconfigured`: not used by blkif.
    case reconfigured = 8

    /// The decimal value written to the `state` node.
    public var nodeValue: String { String(rawValue) }

    /// The state's name as Xen spells it, without the `XenbusState` prefix.
    public var description: String {
        switch self {
        case .unknown: "Unknown"
        case .initialising: "Initialising"
        case .initWait: "InitWait"
        case .initialised: "Initialised"
        case .connected: "Connected"
        case .closing: "Closing"
        case .closed: "Closed"
        case .reconfiguring: "Reconfiguring"
        case .reconfigured: "Reconfigured"
        }
    }
}

/// What one end sees of the other end's `state` node: a state, or why there is none.
public enum PeerState: Hashable, Sendable, CustomStringConvertible {
    /// The node holds a known state.
    case state(XenbusState)
    /// The node (or the peer's whole directory) is gone.
    case vanished
    /// The node holds something that is not a state number; the value is kept for the report.
    case garbage(String)

    /// Parses the value of a `state` node; `nil` means the node is absent.
    public init(nodeValue: String?) {
        guard let nodeValue else { self = .vanished; return }
        guard let number = UInt8(xenStoreValue: nodeValue), let state = XenbusState(rawValue: Int(number)) else {
            self = .garbage(nodeValue)
            return
        }
        self = .state(state)
    }

    public var description: String {
        switch self {
        case .state(let state): "\(state)"
        case .vanished: "vanished"
        case .garbage(let value): "garbage state \"\(value.prefix(64))\""
        }
    }
}
