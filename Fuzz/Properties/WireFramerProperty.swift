// The XenStore wire framer over any byte stream, cut into any chunks.

@testable import XenStore

/// `WireFramer` fed a stream a peer wrote, in chunks whose sizes the input picks (each chunk's
/// length byte, then its bytes), drained after every chunk.
///
/// Properties: no trap; every message cut is exactly the next bytes of the stream (its
/// encoding equals them) with a payload of at most `XENSTORE_PAYLOAD_MAX`; a header announcing
/// more is reported as oversized, naming that header, and ends the stream; after a drain the
/// framer holds less than one whole message (its buffer is bounded) and says no message is
/// complete.
enum WireFramerProperty {
    /// Runs the property on one input.
    static func check(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        var framer = WireFramer()
        var stream: [UInt8] = []
        var consumed = 0
        while !input.isExhausted {
            let chunk = input.take(Int(input.byte()) * (input.bool() ? 1 : 32))
            stream += chunk
            framer.append(chunk)
            do {
                while let message = try framer.next() {
                    require(message.payload.count <= WireMessage.payloadMax, "a \(message.payload.count)-byte payload")
                    let encoded = message.encoded
                    require(consumed + encoded.count <= stream.count && Array(stream[consumed..<consumed + encoded.count]) == encoded,
                            "message \(message) is not the next \(encoded.count) bytes of the stream")
                    consumed += encoded.count
                }
            } catch {
                // type, req_id and tx_id as the stream has them (the oversized length is not kept)
                let fields = stream[consumed..<consumed + 12]
                require(Array(fields) == Array(error.header.encoded.prefix(12)), "oversized header \(error.header) is not the stream's")
                return
            }
            require(framer.pendingByteCount == stream.count - consumed, "\(framer.pendingByteCount) bytes pending, \(stream.count - consumed) unframed")
            require(framer.pendingByteCount < WireMessage.headerSize + WireMessage.payloadMax, "\(framer.pendingByteCount) bytes buffered")
            require(!framer.hasCompleteMessage, "a complete message left after a drain")
        }
    }
}
