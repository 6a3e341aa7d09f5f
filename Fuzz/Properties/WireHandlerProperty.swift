// The XenStore server's request handler over any sequence of requests.

@testable import XenStore

/// `WireRequestHandler` answering requests a client wrote, on a store shared by a domain-0
/// session and an unprivileged one (so permission checks run). The input is a script of
/// requests: which session sends it, its type (one of the protocol's, or any), its transaction
/// id (none, a small one, or any), and its payload (bytes of the input, so paths, values, NUL
/// terminators and permission strings are the fuzzer's to find).
///
/// Properties: no trap; every request gets exactly one reply, with its `req_id` and `tx_id`,
/// of its own type or `XS_ERROR`; an error reply carries one `xsd_errors` name, NUL-terminated;
/// a reply's payload fits `XENSTORE_PAYLOAD_MAX` and frames back to the same message.
enum WireHandlerProperty {
    /// Runs the property on one input.
    static func check(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let privileged = InMemoryXenStore()
        let guest = privileged.session(as: DomainID(UInt16(input.int(in: 1...3))))
        defer {
            guest.close()
            privileged.close()
        }
        // Domain management runs, but its sockets go under /dev/null, a file: introducing a
        // domain fails there, and a run never leaves a listening socket behind.
        let domains = DomainSockets(serverSocket: "/dev/null/xenstored", core: privileged.core, wake: {})
        let handlers = [privileged, guest].map { WireRequestHandler(session: $0, domains: domains) }
        var requestID: UInt32 = 0
        while !input.isExhausted {
            let handler = handlers[Int(input.byte() % 2)]
            let type = input.byte() % 8 == 0 ? input.uint32() : UInt32(input.int(in: 0...Int(WireType.directoryPart.rawValue)))
            let transaction = input.bool() ? 0 : input.byte() % 4 == 0 ? input.uint32() : UInt32(input.int(in: 1...4))
            let payload = Array(input.take(input.bool() ? Int(input.byte()) : Int(input.byte() & 0x3F)))
            requestID &+= 1
            let request = WireMessage(type: type, requestID: requestID, transactionID: transaction, payload: payload)
            check(handler.reply(to: request), to: request)
        }
    }

    /// Checks one reply against its request.
    private static func check(_ reply: WireMessage, to request: WireMessage) {
        require(reply.requestID == request.requestID && reply.transactionID == request.transactionID,
                "reply \(reply) to request \(request.requestID) in transaction \(request.transactionID)")
        require(reply.type == request.type || reply.type == WireType.error.rawValue, "reply of type \(reply.type) to type \(request.type)")
        if reply.type == WireType.error.rawValue && request.type != WireType.error.rawValue {
            let name = WireMessage.splitStrings(reply.payload)
            require(name?.count == 1 && XSDError(rawValue: name![0]) != nil, "error reply \(reply.payload)")
        }
        require(reply.payload.count <= WireMessage.payloadMax, "a \(reply.payload.count)-byte reply to \(request)")
        var framer = WireFramer()
        framer.append(reply.encoded)
        require((try? framer.next()) == reply, "reply \(reply) does not frame back to itself")
    }
}
