import Glibc
import Synchronization

/// One client of `XenStoreServer`: its socket, its store session (acting as its domain), and
/// its buffers.
///
/// Only the server's loop thread touches it, except the event outbox, which store sinks on any
/// thread fill. Requests are answered one at a time, in order, and only while fewer than
/// `replyBacklog` bytes of replies wait to be sent: a client that sends faster than it reads
/// is slowed (its socket is no longer read), never dropped, as xenstored does. Memory per
/// connection is therefore bounded: one read (`readSize`) plus one partial message of input,
/// and `replyBacklog` plus one reply plus `EventOutbox.capacity` of events for output.
final class ServerConnection {
    /// Unsent reply bytes at which the server stops answering (and reading) this client.
    static let replyBacklog = 64 << 10
    /// Most bytes taken from the socket at once.
    static let readSize = 64 << 10

    let fd: Int32
    let session: InMemoryXenStore
    private let outbox = EventOutbox()
    private var framer = WireFramer()
    private var output = OutputQueue()
    private let domains: DomainSockets
    private(set) var isDead = false

    /// Wraps an accepted socket of a client acting as `domain`; watch events are queued and
    /// `wake` is called to rouse the loop.
    init(fd: Int32, domain: DomainID, core: StoreCore, domains: DomainSockets, wake: @escaping @Sendable () -> Void) {
        self.fd = fd
        self.domains = domains
        let outbox = outbox
        session = InMemoryXenStore(core: core, domain: domain) { event in
            if outbox.push(event) { wake() }
        }
    }

    /// The domain this client acts as.
    var domain: DomainID { session.domain }
    /// Whether the client may be answered now: its reply backlog has room.
    private var mayAnswer: Bool { !isDead && output.count < Self.replyBacklog }
    /// Whether the loop should poll for incoming requests: nothing is left to answer in the
    /// buffer and the backlog has room.
    var wantsInput: Bool { mayAnswer && !framer.hasCompleteMessage }
    /// Whether requests already received can be answered without waiting for the socket.
    var canAnswerBuffered: Bool { mayAnswer && framer.hasCompleteMessage }
    /// Whether bytes wait to be sent.
    var wantsOutput: Bool { !output.isEmpty }

    /// Reads what the client sent and answers the requests received, as far as the backlog allows.
    func receive() {
        guard let bytes = UnixSocket.readSome(fd, max: Self.readSize) else { return markDead() }
        framer.append(bytes)
        answerBuffered()
    }

    /// Answers buffered requests one at a time while the reply backlog has room.
    func answerBuffered() {
        let handler = WireRequestHandler(session: session, domains: domains)
        do {
            while mayAnswer, let request = try framer.next() {
                output.append(handler.reply(to: request).encoded)
                collectEvents()
            }
        } catch {
            output.append(WireRequestHandler.errorReply(to: error.header, code: .E2BIG).encoded)
            flush()
            markDead()
        }
    }

    /// Moves queued watch events into the output, after any reply already there, unless the
    /// backlog is full (they then wait, bounded, in the outbox).
    func collectEvents() {
        guard output.count < Self.replyBacklog else { return }
        for event in outbox.take() {
            if let message = WireRequestHandler.eventMessage(event) { output.append(message.encoded) }
        }
    }

    /// Sends as much output as the socket takes without blocking.
    func flush() {
        while !output.isEmpty, !isDead {
            let sent = output.withUnsentBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if sent < 0 && errno == EINTR { continue }
            if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            guard sent > 0 else { return markDead() }
            output.consume(sent)
        }
    }

    /// Marks the connection for removal.
    func markDead() { isDead = true }

    /// Releases the socket and the session (its watches and open transactions go with it).
    func close() {
        session.close()
        Glibc.close(fd)
    }
}

/// Bytes waiting to be sent, consumed from the front without moving the rest each time.
private struct OutputQueue {
    private var bytes: [UInt8] = []
    private var sent = 0

    /// Unsent bytes.
    var count: Int { bytes.count - sent }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ more: [UInt8]) {
        if sent > 0 && sent >= bytes.count / 2 {
            bytes.removeFirst(sent)
            sent = 0
        }
        bytes += more
    }

    /// Calls `body` with the unsent bytes.
    func withUnsentBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes[sent...].withUnsafeBytes(body)
    }

    /// Drops `count` bytes that were sent.
    mutating func consume(_ count: Int) {
        sent += count
        if sent == bytes.count {
            bytes.removeAll(keepingCapacity: bytes.count <= ServerConnection.replyBacklog * 2)
            sent = 0
        }
    }
}
