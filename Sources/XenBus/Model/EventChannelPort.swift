// The event channel a frontend allocates and names in its `event-channel` node.

/// A Xen event channel port (`evtchn_port_t`): the doorbell of one ring.
///
/// Negotiation carries it as a plain value; binding it is the platform's job.
@frozen
public struct EventChannelPort: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 32-bit port number as published in XenStore.
    public var rawValue: UInt32
    /// Wraps a port number.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Wraps a port number.
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { "port \(rawValue)" }
}
