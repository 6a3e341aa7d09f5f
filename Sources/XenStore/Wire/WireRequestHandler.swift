/// Answers the requests of one wire connection by running them on its store session.
///
/// Every request gets exactly one reply: the result with the request's type, req_id and
/// tx_id, or `XS_ERROR` carrying an `xsd_errors` name. Unknown types get `ENOSYS`; malformed
/// arguments (missing NUL terminators, bad paths, bad permission strings) get `EINVAL`.
struct WireRequestHandler {
    /// The session the connection acts through (its domain, watches and transactions).
    let session: InMemoryXenStore

    /// The reply to `request`.
    func reply(to request: WireMessage) -> WireMessage {
        do {
            let payload = try handle(request)
            return WireMessage(type: request.type, requestID: request.requestID, transactionID: request.transactionID, payload: payload)
        } catch {
            return Self.errorReply(to: request, code: Self.code(of: error))
        }
    }

    /// An `XS_ERROR` reply carrying `code`.
    static func errorReply(to request: WireMessage, code: XSDError) -> WireMessage {
        WireMessage(.error, requestID: request.requestID, transactionID: request.transactionID,
                    payload: WireMessage.strings([code.rawValue]))
    }

    private static let ok = WireMessage.strings(["OK"])

    private func handle(_ request: WireMessage) throws(XenStoreError) -> [UInt8] {
        guard let type = WireType(rawValue: request.type) else { throw .store(.ENOSYS, path: nil) }
        let tx = TransactionID(rawValue: request.transactionID)
        switch type {
        case .read: return Array(try session.read(try path(request), transaction: tx).utf8)
        case .write:
            let (path, value) = try pathAndValue(request.payload)
            try session.write(path, value: value, transaction: tx)
        case .mkdir: try session.mkdir(try path(request), transaction: tx)
        case .rm: try session.rm(try path(request), transaction: tx)
        case .directory: return WireMessage.strings(try session.directory(try path(request), transaction: tx))
        case .getPerms: return WireMessage.strings(try session.permissions(of: try path(request), transaction: tx).wireEntries)
        case .setPerms:
            let args = try arguments(request, atLeast: 2)
            guard let permissions = Permissions(wireEntries: Array(args.dropFirst())) else { throw .store(.EINVAL, path: args[0]) }
            try session.setPermissions(permissions, of: try XenStorePath(args[0]), transaction: tx)
        case .watch, .unwatch: try watchRequest(type, request)
        case .transactionStart:
            guard tx == nil else { throw .store(.EBUSY, path: nil) }
            return WireMessage.strings([try session.startTransaction().description])
        case .transactionEnd: try endTransaction(tx, request)
        case .getDomainPath: return WireMessage.strings([try domain(request).homePath])
        case .resetWatches: session.resetWatches()
        case .watchEvent, .error: throw .store(.EINVAL, path: nil)
        default: throw .store(.ENOSYS, path: nil)
        }
        return Self.ok
    }

    private func watchRequest(_ type: WireType, _ request: WireMessage) throws(XenStoreError) {
        let args = try arguments(request, atLeast: 2)
        let path = try XenStorePath(args[0])
        if type == .watch {
            try session.watch(path, token: WatchToken(args[1]))
        } else {
            try session.unwatch(path, token: WatchToken(args[1]))
        }
    }

    private func endTransaction(_ tx: TransactionID?, _ request: WireMessage) throws(XenStoreError) {
        let args = try arguments(request, atLeast: 1)
        guard let tx else { throw .store(.ENOENT, path: nil) }
        switch args[0] {
        case "T": try session.endTransaction(tx, commit: true)
        case "F": try session.endTransaction(tx, commit: false)
        default: throw .store(.EINVAL, path: nil)
        }
    }

    private func domain(_ request: WireMessage) throws(XenStoreError) -> DomainID {
        let text = try arguments(request, atLeast: 1)[0]
        guard let id = UInt16(xenStoreValue: text) else { throw .store(.EINVAL, path: nil) }
        return DomainID(id)
    }

    private func path(_ request: WireMessage) throws(XenStoreError) -> XenStorePath {
        try XenStorePath(try arguments(request, atLeast: 1)[0])
    }

    private func arguments(_ request: WireMessage, atLeast count: Int) throws(XenStoreError) -> [String] {
        guard let args = WireMessage.splitStrings(request.payload), args.count >= count else {
            throw .store(.EINVAL, path: nil)
        }
        return args
    }

    /// `XS_WRITE` carries `path\0value`, the value unterminated.
    private func pathAndValue(_ payload: [UInt8]) throws(XenStoreError) -> (XenStorePath, String) {
        guard let nul = payload.firstIndex(of: 0) else { throw .store(.EINVAL, path: nil) }
        let path = try XenStorePath(String(decoding: payload[..<nul], as: UTF8.self))
        return (path, String(decoding: payload[(nul + 1)...], as: UTF8.self))
    }

    /// The xsd error a failure is reported as.
    private static func code(of error: XenStoreError) -> XSDError {
        switch error {
        case .store(let code, _): return code
        case .transactionRetriesExhausted: return .EAGAIN
        default: return .EINVAL
        }
    }
}
