/// The error names of `xsd_errors` in `<xen/io/xs_wire.h>`, as carried by `XS_ERROR` replies.
///
/// The raw value is the exact string on the wire (without its NUL terminator).
public enum XSDError: String, Sendable, CaseIterable {
    case EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO
    case ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM
    /// Not in `xsd_errors`; sent by xenstored builds that enforce per-domain quotas.
    case EQUOTA
}

/// Every failure of the XenStore API.
public enum XenStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The store refused an operation on `path` with the xenstored error `code`
    /// (`ENOENT` missing node, `EACCES` permission, `EAGAIN` transaction conflict, ...).
    /// `path` is nil when the operation names no path (e.g. ending a transaction).
    case store(XSDError, path: String?)
    /// `path` is not a valid XenStore path; `reason` says why.
    case invalidPath(String, reason: String)
    /// The node at `path` holds `value`, which is not a valid `expected` (bytes that are not
    /// UTF-8 appear in `value` as `\xNN`).
    case malformedValue(path: String, value: String, expected: String)
    /// A transaction conflicted (`EAGAIN`) on every one of `attempts` tries.
    case transactionRetriesExhausted(attempts: Int)
    /// The connection to a xenstored failed or closed; `detail` describes how.
    case connection(String)
    /// No reply came within the client's `timeout` (`after`); the connection stays open and a
    /// late reply is dropped. A busy xenstored (one serving a whole host) can be this slow.
    case timedOut(after: Duration)
    /// The peer sent something the protocol does not allow; `detail` describes it.
    case protocolViolation(String)

    /// The xenstored error code, if this is a store refusal.
    public var code: XSDError? {
        if case .store(let code, _) = self { return code }
        return nil
    }

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .store(let code, let path): return "\(code.rawValue)" + (path.map { " on \($0)" } ?? "")
        case .invalidPath(let path, let reason): return "invalid path \"\(path)\": \(reason)"
        case .malformedValue(let path, let value, let expected):
            return "\(path) = \"\(value)\" is not \(expected)"
        case .transactionRetriesExhausted(let n): return "transaction conflicted \(n) times"
        case .connection(let detail): return "connection: \(detail)"
        case .timedOut(let after): return "no reply within \(after)"
        case .protocolViolation(let detail): return "protocol violation: \(detail)"
        }
    }
}
