import Foundation
import Glibc
import Synchronization

/// A XenStore reached over its Unix socket with the Xen wire protocol: a real xenstored on a
/// Xen host, or a `XenStoreServer` (e.g. `blkif-xenstored`) anywhere else.
///
/// Calls block until their reply arrives (or `timeout` passes). A reader thread sorts
/// incoming messages: replies go to their caller by req_id, `XS_WATCH_EVENT`s to `events`.
/// A client of the main socket is domain 0 to the server; `init(domain:serverSocket:timeout:)`
/// connects as an introduced domain instead. Values travel as raw bytes. Thread-safe.
public final class XenStoreClient: XenStore {
    /// The socket libxenstore would use: `$XENSTORED_PATH`, else `$XENSTORED_RUNDIR/socket`,
    /// else `/var/run/xenstored/socket`.
    public static func defaultSocketPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["XENSTORED_PATH"], !path.isEmpty { return path }
        return (environment["XENSTORED_RUNDIR"] ?? "/var/run/xenstored") + "/socket"
    }

    /// The socket this client is connected to.
    public let socketPath: String
    /// How long a call waits for its reply.
    public let timeout: Duration
    /// Watch events received on this connection.
    public let events = WatchEventQueue()

    private let fd: Int32
    private let board = ReplyBoard()
    private let sendLock = Mutex(())
    private let readerFinished = DispatchSemaphore(value: 0)
    private let closed = Atomic<Bool>(false)

    /// Connects to `socketPath` (by default `defaultSocketPath()`).
    public init(socketPath: String = XenStoreClient.defaultSocketPath(), timeout: Duration = .seconds(10)) throws(XenStoreError) {
        self.socketPath = socketPath
        self.timeout = timeout
        fd = try UnixSocket.connect(to: socketPath)
        let (fd, board, events, finished) = (fd, board, events, readerFinished)
        let reader = Thread {
            Self.readReplies(fd: fd, board: board, events: events)
            finished.signal()
        }
        reader.name = "xenstore-client-reader"
        reader.start()
    }

    /// Connects as `domain` to a `XenStoreServer` (e.g. `blkif-xenstored`) listening on
    /// `serverSocket`, through the domain's own socket `<serverSocket>.d<domain>`, which exists
    /// while the domain is introduced. Every call then acts as `domain`: relative paths resolve
    /// against its home, and permissions and quotas apply.
    public convenience init(domain: DomainID, serverSocket: String = XenStoreClient.defaultSocketPath(),
                            timeout: Duration = .seconds(10)) throws(XenStoreError) {
        let path = domain.isPrivileged ? serverSocket : XenStoreServer.domainSocketPath(for: domain, serverSocket: serverSocket)
        try self.init(socketPath: path, timeout: timeout)
    }

    deinit { close() }

    /// Disconnects; pending and later calls fail with `.connection`. Safe to call twice.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        readerFinished.wait()
        Glibc.close(fd)
    }

    public func readBytes(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> [UInt8] {
        try request(.read, path, transaction, WireMessage.strings([path.rawValue]))
    }

    public func write(_ path: XenStorePath, bytes: [UInt8], transaction: TransactionID?) throws(XenStoreError) {
        _ = try request(.write, path, transaction, WireMessage.strings([path.rawValue]) + bytes)
    }

    public func mkdir(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) {
        _ = try request(.mkdir, path, transaction, WireMessage.strings([path.rawValue]))
    }

    public func rm(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) {
        _ = try request(.rm, path, transaction, WireMessage.strings([path.rawValue]))
    }

    /// The children of `path`. A list too long for one reply (`E2BIG`) is fetched in pieces
    /// with `XS_DIRECTORY_PART`, as libxenstore does.
    public func directory(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> [String] {
        do {
            return try strings(try request(.directory, path, transaction, WireMessage.strings([path.rawValue])))
        } catch where error.code == .E2BIG {
            return try directoryInParts(path, transaction: transaction)
        }
    }

    public func permissions(of path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> Permissions {
        let entries = try strings(try request(.getPerms, path, transaction, WireMessage.strings([path.rawValue])))
        guard let permissions = Permissions(wireEntries: entries) else { throw .protocolViolation("bad permissions \(entries)") }
        return permissions
    }

    public func setPermissions(_ permissions: Permissions, of path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) {
        _ = try request(.setPerms, path, transaction, WireMessage.strings([path.rawValue] + permissions.wireEntries))
    }

    public func watch(_ path: XenStorePath, token: WatchToken) throws(XenStoreError) {
        _ = try request(.watch, path, nil, WireMessage.fields([Array(path.rawValue.utf8), token.bytes]))
    }

    public func unwatch(_ path: XenStorePath, token: WatchToken) throws(XenStoreError) {
        _ = try request(.unwatch, path, nil, WireMessage.fields([Array(path.rawValue.utf8), token.bytes]))
    }

    public func startTransaction() throws(XenStoreError) -> TransactionID {
        let reply = try strings(try request(.transactionStart, nil, nil, [0]))
        guard let text = reply.first, let raw = UInt32(xenStoreValue: text), let id = TransactionID(rawValue: raw) else {
            throw .protocolViolation("bad transaction id \(reply)")
        }
        return id
    }

    public func endTransaction(_ transaction: TransactionID, commit: Bool) throws(XenStoreError) {
        _ = try request(.transactionEnd, nil, transaction, WireMessage.strings([commit ? "T" : "F"]))
    }

    /// Sends one request and returns its reply payload; an `XS_ERROR` reply is thrown as
    /// `.store(code, path:)`.
    func request(_ type: WireType, _ path: XenStorePath?, _ transaction: TransactionID?,
                 _ payload: [UInt8]) throws(XenStoreError) -> [UInt8] {
        guard payload.count <= WireMessage.payloadMax else { throw .store(.E2BIG, path: path?.rawValue) }
        let id = board.reserve()
        let message = WireMessage(type, requestID: id, transactionID: transaction?.rawValue ?? 0, payload: payload)
        let sent = sendLock.withLock { _ in UnixSocket.writeAll(fd, message.encoded) }
        guard sent else {
            board.close(reason: "send failed: \(UnixSocket.errorText())")
            throw .connection("send to \(socketPath) failed")
        }
        let reply = try board.wait(for: id, timeout: timeout)
        guard reply.type == WireType.error.rawValue else { return reply.payload }
        let name = WireMessage.splitStrings(reply.payload)?.first ?? ""
        guard let code = XSDError(rawValue: name) else { throw .protocolViolation("unknown error \"\(name)\"") }
        throw .store(code, path: path?.rawValue)
    }

    /// The nul-terminated strings of a reply payload.
    func strings(_ payload: [UInt8]) throws(XenStoreError) -> [String] {
        guard let strings = WireMessage.splitStrings(payload) else { throw .protocolViolation("unterminated string in reply") }
        return strings
    }

    /// The reader thread: posts replies and queues watch events until the stream ends.
    private static func readReplies(fd: Int32, board: ReplyBoard, events: WatchEventQueue) {
        var framer = WireFramer()
        defer {
            board.close(reason: "connection closed")
            events.finish()
        }
        while let bytes = UnixSocket.readSome(fd) {
            framer.append(bytes)
            do {
                while let message = try framer.next() {
                    if message.type == WireType.watchEvent.rawValue {
                        if let parts = WireMessage.splitFields(message.payload), parts.count >= 2 {
                            events.push(WatchEvent(path: String(decoding: parts[0], as: UTF8.self), token: WatchToken(bytes: parts[1])))
                        }
                    } else {
                        board.post(message)
                    }
                }
            } catch {
                return
            }
        }
    }
}
