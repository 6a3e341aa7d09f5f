// Why one end refused what the other end published.

/// Why negotiation failed: each case names the node and the value that broke a rule, so the
/// message written to the device's `error` node tells a toolstack exactly what was wrong.
public enum NegotiationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The node holds a value that is not `expected` (e.g. not plain decimal, or out of its type).
    case malformed(node: String, value: String, expected: String)
    /// A node the protocol requires is absent.
    case missing(node: String)
    /// The node asks for more than the other end offered (`limit`).
    case aboveOffer(node: String, value: UInt64, limit: UInt64)
    /// The node holds zero where at least one is required.
    case zero(node: String)
    /// A page count that is not a power of two.
    case notPowerOfTwo(node: String, value: UInt64)
    /// `ring-page-order` and `ring-pages` are both present and disagree.
    case inconsistentRingSize(pageOrder: UInt64, pages: UInt64)
    /// `ring-ref` and `ring-ref0` are both present in `directory` (one or several pages, never both).
    case bothRingReferenceForms(directory: String)
    /// `max-requests` is above the entries the negotiated ring holds.
    case requestsExceedRing(requests: UInt64, entries: Int)
    /// The `protocol` node names an ABI this package does not implement.
    case unknownProtocol(String)
    /// The directory holds more nodes than any valid device publishes.
    case tooManyNodes(directory: String, count: Int)

    public var description: String {
        switch self {
        case .malformed(let node, let value, let expected):
            "\(node) = \"\(value.prefix(64))\" is not \(expected)"
        case .missing(let node):
            "\(node) is missing"
        case .aboveOffer(let node, let value, let limit):
            "\(node) = \(value) is above the \(limit) offered"
        case .zero(let node):
            "\(node) = 0, at least 1 is required"
        case .notPowerOfTwo(let node, let value):
            "\(node) = \(value) is not a power of two"
        case .inconsistentRingSize(let order, let pages):
            "ring-page-order = \(order) and ring-pages = \(pages) disagree"
        case .bothRingReferenceForms(let directory):
            "\(directory.isEmpty ? "" : directory + "/")ring-ref and ring-ref0 are both present"
        case .requestsExceedRing(let requests, let entries):
            "max-requests = \(requests) is above the \(entries) entries of the ring"
        case .unknownProtocol(let name):
            "protocol = \"\(name.prefix(64))\" is not x86_32-abi, x86_64-abi or arm-abi"
        case .tooManyNodes(let directory, let count):
            "\(directory) holds at least \(count) nodes, more than a block device publishes"
        }
    }
}
