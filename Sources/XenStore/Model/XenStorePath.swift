/// A validated XenStore path, as xenstored accepts it.
///
/// Invariants: either absolute (`/` or `/a/b`, at most `XENSTORE_ABS_PATH_MAX` = 3072 bytes),
/// relative (`a/b`, at most `XENSTORE_REL_PATH_MAX` = 2048 bytes, resolved against the caller's
/// domain home `/local/domain/<id>`), or special (`@introduceDomain`, `@releaseDomain`, usable
/// only as a watch path). Characters are ASCII alphanumerics and `-/_@`; no empty component,
/// no trailing `/` except for the root.
public struct XenStorePath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Longest absolute path xenstored accepts (`XENSTORE_ABS_PATH_MAX`).
    public static let absoluteMaxLength = 3072
    /// Longest relative path xenstored accepts (`XENSTORE_REL_PATH_MAX`).
    public static let relativeMaxLength = 2048
    /// The root of the tree.
    public static let root = XenStorePath(unchecked: "/")

    /// The path as written (not resolved).
    public let rawValue: String

    /// Validates `string` as a path; throws `.invalidPath` naming the string and the rule broken.
    public init(_ string: String) throws(XenStoreError) {
        if let reason = Self.violation(in: string) { throw .invalidPath(string, reason: reason) }
        rawValue = string
    }

    /// A path from a literal; a malformed literal is a programmer error and traps.
    public init(stringLiteral value: String) {
        guard let path = try? XenStorePath(value) else { preconditionFailure("invalid XenStore path literal \(value)") }
        self = path
    }

    private init(unchecked: String) { rawValue = unchecked }

    /// Whether the path starts at the root.
    public var isAbsolute: Bool { rawValue.hasPrefix("/") }
    /// Whether this is a special watch path such as `@releaseDomain`.
    public var isSpecial: Bool { rawValue.hasPrefix("@") }

    /// The path with `component` (one or more `/`-separated names) appended.
    public func appending(_ component: String) throws(XenStoreError) -> XenStorePath {
        guard !isSpecial else { throw .invalidPath(rawValue, reason: "special paths have no children") }
        return try XenStorePath(rawValue == "/" ? "/" + component : rawValue + "/" + component)
    }

    /// The absolute path this denotes for a caller in `domain` (special paths are returned as-is).
    public func resolved(for domain: DomainID) -> String {
        isAbsolute || isSpecial ? rawValue : domain.homePath + "/" + rawValue
    }

    /// The path as written.
    public var description: String { rawValue }

    private static func violation(in string: String) -> String? {
        let bytes = Array(string.utf8)
        guard !bytes.isEmpty else { return "empty" }
        if bytes.first == UInt8(ascii: "@") {
            return bytes.count > relativeMaxLength ? "too long" : invalidCharacter(in: bytes.dropFirst(), slash: false)
        }
        let absolute = bytes.first == UInt8(ascii: "/")
        if bytes.count > (absolute ? absoluteMaxLength : relativeMaxLength) { return "too long" }
        if bytes == [UInt8(ascii: "/")] { return nil }
        if bytes.last == UInt8(ascii: "/") { return "trailing /" }
        if string.contains("//") { return "empty component" }
        return invalidCharacter(in: bytes[...], slash: true)
    }

    private static func invalidCharacter(in bytes: ArraySlice<UInt8>, slash: Bool) -> String? {
        for byte in bytes {
            let ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "@")
                || (slash && byte == UInt8(ascii: "/"))
            if !ok { return "character 0x\(String(byte, radix: 16)) not allowed" }
        }
        return nil
    }
}
