/// Message types of `<xen/io/xs_wire.h>` (`enum xsd_sockmsg_type`).
enum WireType: UInt32 {
    case control = 0, directory, read, getPerms, watch, unwatch, transactionStart, transactionEnd
    case introduce, release, getDomainPath, write, mkdir, rm, setPerms, watchEvent, error
    case isDomainIntroduced, resume, setTarget
    case resetWatches = 21, directoryPart
}

/// One message: the 16-byte `xsd_sockmsg` header (type, req_id, tx_id, len; native byte
/// order, little-endian on every platform we run on) followed by `len` payload bytes.
///
/// Invariant for well-formed messages: `payload.count <= XENSTORE_PAYLOAD_MAX` (4096).
struct WireMessage: Equatable, Sendable {
    /// Size of the header on the wire.
    static let headerSize = 16
    /// `XENSTORE_PAYLOAD_MAX`: the largest payload either side may send.
    static let payloadMax = 4096

    var type: UInt32
    var requestID: UInt32
    var transactionID: UInt32
    var payload: [UInt8]

    init(type: UInt32, requestID: UInt32, transactionID: UInt32 = 0, payload: [UInt8]) {
        self.type = type
        self.requestID = requestID
        self.transactionID = transactionID
        self.payload = payload
    }

    init(_ type: WireType, requestID: UInt32, transactionID: UInt32 = 0, payload: [UInt8]) {
        self.init(type: type.rawValue, requestID: requestID, transactionID: transactionID, payload: payload)
    }

    /// The header and payload as sent.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerSize + payload.count)
        for field in [type, requestID, transactionID, UInt32(payload.count)] {
            withUnsafeBytes(of: field.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes + payload
    }

    /// A payload of strings, each nul-terminated (`"a\0b\0"`).
    static func strings(_ parts: [String]) -> [UInt8] {
        parts.flatMap { Array($0.utf8) + [0] }
    }

    /// A payload of byte strings, each nul-terminated.
    static func fields(_ parts: [[UInt8]]) -> [UInt8] {
        parts.flatMap { $0 + [0] }
    }

    /// The byte strings of a payload made only of nul-terminated strings; nil if the last is
    /// unterminated. An empty payload has no strings.
    static func splitFields(_ payload: [UInt8]) -> [[UInt8]]? {
        guard payload.last == 0 else { return payload.isEmpty ? [] : nil }
        return payload.dropLast().split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
    }

    /// The strings of a payload made only of nul-terminated strings (bytes that are not UTF-8
    /// decoded as U+FFFD); nil if the last is unterminated.
    static func splitStrings(_ payload: [UInt8]) -> [String]? {
        splitFields(payload)?.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads a little-endian `UInt32` at `offset`.
    static func uint32(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt32 {
        let start = bytes.startIndex + offset
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[start + $1]) << (8 * UInt32($1)) }
    }
}

/// Accumulates bytes from a stream and cuts them into messages.
///
/// Invariant: holds at most one header plus `payloadMax` bytes of a pending message beyond
/// what was appended since the last complete message, because a header announcing more is
/// reported as `.oversized` before its payload is buffered. Consumed bytes are released in
/// bulk, so cutting many small messages from one large read costs linear time.
struct WireFramer {
    /// A stream that announced a payload over `XENSTORE_PAYLOAD_MAX`; the stream cannot be resynchronised.
    struct Oversized: Error {
        let header: WireMessage
    }

    private var buffer: [UInt8] = []
    /// Bytes of `buffer` already cut into messages.
    private var consumed = 0

    /// Adds received bytes.
    mutating func append(_ bytes: some Sequence<UInt8>) {
        if consumed > 0 {
            buffer.removeFirst(consumed)
            consumed = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received and not yet cut into messages.
    var pendingByteCount: Int { buffer.count - consumed }

    /// Whether a whole message (or an oversized header) is buffered, so `next()` returns without more input.
    var hasCompleteMessage: Bool {
        guard let length = announcedLength else { return false }
        return length > WireMessage.payloadMax || pendingByteCount >= WireMessage.headerSize + length
    }

    /// The payload length the pending header announces, nil until a whole header is buffered.
    private var announcedLength: Int? {
        pendingByteCount >= WireMessage.headerSize ? Int(WireMessage.uint32(buffer[consumed...], at: 12)) : nil
    }

    /// The next complete message, nil if more bytes are needed.
    mutating func next() throws(Oversized) -> WireMessage? {
        guard let length = announcedLength else { return nil }
        let bytes = buffer[consumed...]
        let header = WireMessage(type: WireMessage.uint32(bytes, at: 0), requestID: WireMessage.uint32(bytes, at: 4),
                                 transactionID: WireMessage.uint32(bytes, at: 8), payload: [])
        guard length <= WireMessage.payloadMax else { throw Oversized(header: header) }
        guard pendingByteCount >= WireMessage.headerSize + length else { return nil }
        var message = header
        let start = consumed + WireMessage.headerSize
        message.payload = Array(buffer[start..<start + length])
        consumed = start + length
        return message
    }
}
