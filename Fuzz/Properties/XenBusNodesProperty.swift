// XenBus negotiation over any device directory a peer wrote.

import BlkifABI
import XenBus

/// The XenBus node parsers of both ends over one device directory a peer wrote: the input picks
/// nodes (the names negotiation reads, or any name) and their values (decimal numbers, protocol
/// names, or any bytes), the ring-size schemes spoken, this end's limits and the backend's offer.
///
/// Properties: no trap; only ``NegotiationError``; what parses meets the invariants the rest of
/// the stack relies on: a `state` node is a known state or reported as garbage; a frontend's
/// reading of an offer (`BackendOffer.parse`) has a power-of-two page count and segments in
/// 11...255, and its `TransportChoice` stays within the frontend's limits and the ring; a
/// backend's acceptance of a transport (`NegotiatedConnection.accept`) stays within its own
/// offer, with one ring reference per page for every queue; a disk's sector sizes are powers of
/// two of at least 512.
enum XenBusNodesProperty {
    /// The names negotiation reads, so the fuzzer need not guess them.
    static let names = [
        "protocol", "ring-ref", "ring-ref0", "ring-ref1", "ring-ref2", "ring-ref3", "event-channel", "ring-page-order",
        "ring-pages", "max-ring-page-order", "max-ring-pages", "max-requests", "max-request-segments", "max-request-size",
        "multi-queue-num-queues", "multi-queue-max-queues", "queue-0/ring-ref", "queue-0/ring-ref0", "queue-0/ring-ref1",
        "queue-0/event-channel", "queue-1/ring-ref", "queue-1/ring-ref0", "queue-1/event-channel", "feature-persistent",
        "feature-barrier", "feature-flush-cache", "feature-discard", "discard-granularity", "discard-alignment",
        "discard-secure", "feature-max-indirect-segments", "sectors", "sector-size", "physical-sector-size", "info", "state",
    ]

    /// Runs the property on one input.
    static func check(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let schemes = RingSizeSchemes(rawValue: input.byte() % 4)
        let limits = FrontendLimits(
            ringPages: 1 << input.int(in: 0...5), maximumRequests: input.bool() ? nil : input.int(in: 0...300),
            maximumSegments: input.int(in: 0...300), maximumIndirectSegments: input.int(in: 0...5000), queues: input.int(in: 0...4),
            persistentGrants: input.bool(), abi: input.abi())
        let offer = BackendOffer(
            maximumRingPages: 1 << input.int(in: 0...5), maximumSegments: input.int(in: 0...300),
            maximumIndirectSegments: input.int(in: 0...5000), maximumQueues: input.int(in: 0...4))
        var nodes = NodeValues()
        while !input.isExhausted {
            let name = input.byte() % 8 == 0 ? String(decoding: input.take(Int(input.byte() % 32)), as: UTF8.self)
                : names[Int(input.byte()) % names.count]
            nodes[name] = value(&input)
        }
        checkState(nodes["state"])
        checkOffer(nodes, schemes: schemes, limits: limits)
        checkTransport(nodes, offer: offer, schemes: schemes)
        if let disk = try? DiskProperties(parsing: nodes) {
            require(isSectorSize(disk.sectorSize) && isSectorSize(disk.physicalSectorSize), "disk \(disk)")
        }
    }

    /// A node value: a decimal number (of any width), a protocol name, or any bytes.
    private static func value(_ input: inout FuzzInput) -> String {
        switch input.byte() % 4 {
        case 0: String(input.uint32() >> (input.byte() % 32))
        case 1: String(input.uint64())
        case 2: ["x86_64-abi", "x86_32-abi", "arm-abi", "0", "1", "4", "-1", "+1", " 1", "01"][Int(input.byte()) % 10]
        default: String(decoding: input.take(Int(input.byte() % 24)), as: UTF8.self)
        }
    }

    private static func checkState(_ value: String?) {
        switch PeerState(nodeValue: value) {
        case .vanished: require(value == nil, "\(value ?? "") read as vanished")
        case .state(let state): require(UInt8(xenStoreValue: value ?? "") == UInt8(state.rawValue), "\(value ?? "") read as \(state)")
        case .garbage(let kept): require(kept == value, "garbage \(kept) from \(value ?? "")")
        }
    }

    /// A frontend reading the offer, then choosing its transport from it.
    private static func checkOffer(_ nodes: NodeValues, schemes: RingSizeSchemes, limits: FrontendLimits) {
        guard let (offer, _) = try? BackendOffer.parse(nodes, schemes: schemes) else { return }
        require(offer.maximumRingPages >= 1 && offer.maximumRingPages & (offer.maximumRingPages - 1) == 0, "offer of \(offer.maximumRingPages) pages")
        require((ABI.segmentsPerHeader...ABI.maximumBlockSegments).contains(offer.maximumSegments), "offer of \(offer.maximumSegments) segments")
        require(offer.maximumRequestSize >= RingGeometry.pageSize && offer.maximumQueues >= 1, "offer \(offer)")
        require(offer.maximumRequests.map { $0 > 0 } ?? true, "offer of \(offer.maximumRequests ?? 0) requests")
        let (choice, _) = TransportChoice.choose(from: offer, limits: limits)
        require(choice.geometry.pageCount <= min(limits.ringPages, offer.maximumRingPages), "chose \(choice.geometry.pageCount) pages")
        require((1...choice.geometry.entryCount).contains(choice.maximumRequests), "chose \(choice.maximumRequests) requests")
        require(choice.maximumSegments <= limits.maximumSegments && choice.maximumIndirectSegments <= limits.maximumIndirectSegments,
                "chose \(choice)")
        require((1...limits.queues).contains(choice.queueCount) && choice.maximumRequestSize >= RingGeometry.pageSize, "chose \(choice)")
    }

    /// A backend accepting the frontend's transport against its own offer.
    private static func checkTransport(_ nodes: NodeValues, offer: BackendOffer, schemes: RingSizeSchemes) {
        guard let connection = try? NegotiatedConnection.accept(nodes, offer: offer, schemes: schemes) else { return }
        let pages = connection.geometry.pageCount
        require(pages <= offer.maximumRingPages, "accepted \(pages) pages over an offer of \(offer.maximumRingPages)")
        require((1...offer.maximumQueues).contains(connection.queues.count), "accepted \(connection.queues.count) queues")
        require(connection.queues.allSatisfy { $0.ringReferences.count == pages }, "a queue without one reference per page")
        require((1...connection.geometry.entryCount).contains(connection.maximumRequests), "accepted \(connection.maximumRequests) requests")
        require(connection.requestLimits.maximumSegments <= offer.maximumSegments, "accepted \(connection.requestLimits)")
        require(connection.maximumRequestSize <= offer.maximumRequestSize, "accepted requests of \(connection.maximumRequestSize) bytes")
    }

    private static func isSectorSize(_ size: UInt32) -> Bool { size >= 512 && size & (size - 1) == 0 }
}
