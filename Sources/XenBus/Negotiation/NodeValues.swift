// A snapshot of one end's device directory, and the typed reads negotiation makes from it.

import XenStore

/// The values of one device directory, keyed by path relative to it (`ring-ref0`,
/// `queue-1/event-channel`), as the other end read them. Negotiation is a pure function of two
/// of these; the drivers fill them from the store.
public struct NodeValues: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    /// Relative path → value.
    public var values: [String: String]

    /// Wraps relative path → value pairs.
    public init(_ values: [String: String] = [:]) { self.values = values }

    /// Wraps a literal, as tests write them: `["ring-ref": "8", "event-channel": "3"]`.
    public init(dictionaryLiteral elements: (String, String)...) {
        values = Dictionary(elements, uniquingKeysWith: { $1 })
    }

    /// The value of `node`, or nil when absent.
    public subscript(node: String) -> String? {
        get { values[node] }
        set { values[node] = newValue }
    }

    /// Whether `node` is present.
    public func contains(_ node: String) -> Bool { values[node] != nil }

    /// `node` as plain decimal, `defaultValue` when absent.
    /// - Throws: ``NegotiationError/malformed(node:value:expected:)`` for anything but digits
    ///   that fit the type (signs, spaces, hex, overflow).
    public func number<Value: FixedWidthInteger & XenStoreValue>(
        _ node: String, as type: Value.Type = Value.self, default defaultValue: Value
    ) throws(NegotiationError) -> Value {
        try numberIfPresent(node, as: type) ?? defaultValue
    }

    /// `node` as plain decimal, or nil when absent.
    public func numberIfPresent<Value: FixedWidthInteger & XenStoreValue>(
        _ node: String, as type: Value.Type = Value.self
    ) throws(NegotiationError) -> Value? {
        guard let text = values[node] else { return nil }
        guard let value = Value(xenStoreValue: text) else {
            throw .malformed(node: node, value: text, expected: Value.xenStoreExpectation)
        }
        return value
    }

    /// A `0`/`1` feature node, false when absent.
    public func flag(_ node: String) throws(NegotiationError) -> Bool {
        guard let text = values[node] else { return false }
        guard let value = Bool(xenStoreValue: text) else {
            throw .malformed(node: node, value: text, expected: Bool.xenStoreExpectation)
        }
        return value
    }
}
