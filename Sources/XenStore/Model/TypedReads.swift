/// A type a node's string value can be read as and written from.
///
/// Integers are plain decimal digits: no sign, no spaces, not empty, within range.
/// Booleans are `0` or `1`. Strings are taken as they are.
public protocol XenStoreValue: Sendable {
    /// Parses a node value; nil if it is not a valid representation.
    init?(xenStoreValue: String)
    /// The node value representing `self`.
    var xenStoreValue: String { get }
    /// What a valid value looks like, for error messages (e.g. "a decimal UInt32").
    static var xenStoreExpectation: String { get }
}

extension XenStoreValue where Self: FixedWidthInteger {
    /// Parses unsigned decimal digits; rejects signs, spaces, empty text and overflow.
    public init?(xenStoreValue: String) {
        let utf8 = xenStoreValue.utf8
        guard !utf8.isEmpty, utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Self(xenStoreValue, radix: 10) else { return nil }
        self = value
    }

    /// The decimal representation.
    public var xenStoreValue: String { String(self) }

    /// "a non-negative decimal <Type>".
    public static var xenStoreExpectation: String { "a non-negative decimal \(Self.self)" }
}

extension UInt8: XenStoreValue {}
extension UInt16: XenStoreValue {}
extension UInt32: XenStoreValue {}
extension UInt64: XenStoreValue {}
extension UInt: XenStoreValue {}
extension Int8: XenStoreValue {}
extension Int16: XenStoreValue {}
extension Int32: XenStoreValue {}
extension Int64: XenStoreValue {}
extension Int: XenStoreValue {}

extension Bool: XenStoreValue {
    /// `1` is true, `0` is false, anything else is malformed.
    public init?(xenStoreValue: String) {
        switch xenStoreValue {
        case "0": self = false
        case "1": self = true
        default: return nil
        }
    }

    /// `1` or `0`.
    public var xenStoreValue: String { self ? "1" : "0" }

    /// "0 or 1".
    public static var xenStoreExpectation: String { "0 or 1" }
}

extension String: XenStoreValue {
    /// Any value is a valid string.
    public init?(xenStoreValue: String) { self = xenStoreValue }
    /// The string itself.
    public var xenStoreValue: String { self }
    /// "a string".
    public static var xenStoreExpectation: String { "a string" }
}

extension XenStoreReading {
    /// The node at `path` read as `type`.
    ///
    /// If the node is absent, `defaultValue` is returned when given ("any specified default
    /// value is in effect if the corresponding XenBus node is not present"), else `ENOENT`
    /// is thrown. A present but malformed value throws `.malformedValue` naming path and value.
    public func read<Value: XenStoreValue>(_ path: XenStorePath, as type: Value.Type = Value.self,
                                           default defaultValue: Value? = nil) throws(XenStoreError) -> Value {
        guard let text = try readIfPresent(path) else {
            guard let defaultValue else { throw .store(.ENOENT, path: path.rawValue) }
            return defaultValue
        }
        guard let value = Value(xenStoreValue: text) else {
            throw .malformedValue(path: path.rawValue, value: text, expected: Value.xenStoreExpectation)
        }
        return value
    }

    /// The value at `path`, or nil if there is no such node (any other failure is thrown).
    public func readIfPresent(_ path: XenStorePath) throws(XenStoreError) -> String? {
        let result = Result { () throws(XenStoreError) -> String in try read(path) }
        if case .failure(let error) = result, error.code == .ENOENT { return nil }
        return try result.get()
    }

    /// The node `name` under `directory` read as `type`, e.g.
    /// `try store.read("ring-page-order", under: backend, as: UInt32.self, default: 0)`.
    public func read<Value: XenStoreValue>(_ name: String, under directory: XenStorePath, as type: Value.Type = Value.self,
                                           default defaultValue: Value? = nil) throws(XenStoreError) -> Value {
        try read(directory.appending(name), as: type, default: defaultValue)
    }
}
