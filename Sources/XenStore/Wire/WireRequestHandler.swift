/// Answers the requests of one wire connection by running them on its store session.
///
/// Every request gets exactly one reply: the result with the request's type, req_id and
/// tx_id, or `XS_ERROR` carrying an `xsd_errors` name with the same req_id and tx_id.
/// Follows xenstored (Xen 4.17): types without a handler, client-sent `XS_WATCH_EVENT` and
/// `XS_ERROR` included, get `ENOSYS`; a request taking one argument must carry exactly one NUL,
/// at its end, else `EINVAL`; a reply longer than `XENSTORE_PAYLOAD_MAX` is replaced by
/// `E2BIG`; domain management (`INTRODUCE`, `RELEASE`, `IS_DOMAIN_INTRODUCED`) is for
/// privileged callers only (`EACCES`).
struct WireRequestHandler {
    /// The session the connection acts through (its domain, watches and transactions).
    let session: InMemoryXenStore
    /// The server's introduced domains, for the domain-management requests.
    let domains: DomainSockets

    /// The reply to `request`.
    func reply(to request: WireMessage) -> WireMessage {
        do {
            let payload = try handle(request)
            guard payload.count <= WireMessage.payloadMax else { return Self.errorReply(to: request, code: .E2BIG) }
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

    /// A watch event message, or nil if it would exceed `XENSTORE_PAYLOAD_MAX` (xenstored drops those).
    static func eventMessage(_ event: WatchEvent) -> WireMessage? {
        let payload = WireMessage.fields([Array(event.path.utf8), event.token.bytes])
        guard payload.count <= WireMessage.payloadMax else { return nil }
        return WireMessage(.watchEvent, requestID: 0, payload: payload)
    }

    private static let ok = WireMessage.strings(["OK"])

    private func handle(_ request: WireMessage) throws(XenStoreError) -> [UInt8] {
        guard let type = WireType(rawValue: request.type) else { throw .store(.ENOSYS, path: nil) }
        let tx = TransactionID(rawValue: request.transactionID)
        switch type {
        case .read: return try session.readBytes(try path(request), transaction: tx)
        case .write:
            let (path, value) = try pathAndValue(request.payload)
            try session.write(path, bytes: value, transaction: tx)
        case .mkdir: try session.mkdir(try path(request), transaction: tx)
        case .rm: try session.rm(try path(request), transaction: tx)
        case .directory: return WireMessage.strings(try session.directory(try path(request), transaction: tx))
        case .directoryPart: return try directoryPart(request, tx)
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
        case .introduce, .release, .isDomainIntroduced: return try domainManagement(type, request)
        default: throw .store(.ENOSYS, path: nil)
        }
        return Self.ok
    }

    private func directoryPart(_ request: WireMessage, _ tx: TransactionID?) throws(XenStoreError) -> [UInt8] {
        let args = try arguments(request, exactly: 2)
        guard let offset = Int(xenStoreValue: args[1]) else { throw .store(.EINVAL, path: args[0]) }
        let (generation, children) = try session.listing(try XenStorePath(args[0]), transaction: tx)
        return DirectoryPart.reply(generation: generation, children: children, offset: offset)
    }

    private func watchRequest(_ type: WireType, _ request: WireMessage) throws(XenStoreError) {
        guard let fields = WireMessage.splitFields(request.payload), fields.count == 2 else { throw .store(.EINVAL, path: nil) }
        let path = try XenStorePath(String(decoding: fields[0], as: UTF8.self))
        if type == .watch {
            try session.watch(path, token: WatchToken(bytes: fields[1]))
        } else {
            try session.unwatch(path, token: WatchToken(bytes: fields[1]))
        }
    }

    private func endTransaction(_ tx: TransactionID?, _ request: WireMessage) throws(XenStoreError) {
        let argument = try onlyArgument(request)
        guard let tx else { throw .store(.ENOENT, path: nil) }
        switch argument {
        case "T": try session.endTransaction(tx, commit: true)
        case "F": try session.endTransaction(tx, commit: false)
        default: throw .store(.EINVAL, path: nil)
        }
    }

    /// `INTRODUCE <domid>|<gfn>|<evtchn>|`, `RELEASE <domid>|`, `IS_DOMAIN_INTRODUCED <domid>|`.
    private func domainManagement(_ type: WireType, _ request: WireMessage) throws(XenStoreError) -> [UInt8] {
        guard session.domain.isPrivileged else { throw .store(.EACCES, path: nil) }
        switch type {
        case .introduce:
            let args = try arguments(request, atLeast: 3)
            guard let id = UInt16(xenStoreValue: args[0]), id != 0, let port = UInt32(xenStoreValue: args[2]), port > 0 else {
                throw .store(.EINVAL, path: nil)
            }
            _ = try domains.introduce(DomainID(id))
        case .release:
            let id = try domain(request)
            guard !id.isPrivileged else { throw .store(.EINVAL, path: nil) }
            try domains.release(id)
        default:
            return WireMessage.strings([domains.isIntroduced(try domain(request)) ? "T" : "F"])
        }
        return Self.ok
    }

    private func domain(_ request: WireMessage) throws(XenStoreError) -> DomainID {
        guard let id = UInt16(xenStoreValue: try onlyArgument(request)) else { throw .store(.EINVAL, path: nil) }
        return DomainID(id)
    }

    private func path(_ request: WireMessage) throws(XenStoreError) -> XenStorePath {
        try XenStorePath(try onlyArgument(request))
    }

    /// The argument of a one-argument request: the payload holds exactly one NUL, at its end.
    private func onlyArgument(_ request: WireMessage) throws(XenStoreError) -> String {
        try arguments(request, exactly: 1)[0]
    }

    private func arguments(_ request: WireMessage, exactly count: Int) throws(XenStoreError) -> [String] {
        let args = try arguments(request, atLeast: count)
        guard args.count == count else { throw .store(.EINVAL, path: nil) }
        return args
    }

    private func arguments(_ request: WireMessage, atLeast count: Int) throws(XenStoreError) -> [String] {
        guard let args = WireMessage.splitStrings(request.payload), args.count >= count else {
            throw .store(.EINVAL, path: nil)
        }
        return args
    }

    /// `XS_WRITE` carries `path\0value`, the value raw bytes (NULs allowed), unterminated.
    private func pathAndValue(_ payload: [UInt8]) throws(XenStoreError) -> (XenStorePath, [UInt8]) {
        guard let nul = payload.firstIndex(of: 0) else { throw .store(.EINVAL, path: nil) }
        let path = try XenStorePath(String(decoding: payload[..<nul], as: UTF8.self))
        return (path, Array(payload[(nul + 1)...]))
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
