// Seeded random node values on both sides of negotiation: never a trap, and whatever is
// accepted keeps the result's invariants. The seed is printed with any failure.

import BlkifABI
import TestSupport
import XCTest
import XenBus

final class NegotiationFuzzTests: XCTestCase {
    static let transportNodes = [
        "ring-page-order", "ring-pages", "ring-ref", "ring-ref0", "ring-ref1", "ring-ref2", "ring-ref3", "event-channel",
        "protocol", "max-requests", "max-request-segments", "max-request-size", "multi-queue-num-queues", "feature-persistent",
        "queue-0/ring-ref", "queue-0/event-channel", "queue-1/ring-ref", "queue-1/event-channel",
    ]
    static let offerNodes = [
        "max-ring-page-order", "max-ring-pages", "max-requests", "max-request-segments", "max-request-size",
        "feature-max-indirect-segments", "multi-queue-max-queues", "feature-barrier", "feature-discard", "discard-granularity",
    ]

    /// A value drawn from the troublesome ones and from plausible small numbers.
    static func value(_ random: inout SplitMix64) -> String {
        let pool = ["", "-1", "0", "1", "2", "3", "4", "16", "31", "32", "64", "4294967295", "4294967296",
                    "99999999999999999999", " 1", "1 ", "0x10", "+1", "x86_64-abi", "x86_32-abi", "arm-abi", "ppc", "１"]
        return random.next(below: 3) == 0 ? String(random.next(below: 300)) : pool[Int(random.next(below: UInt64(pool.count)))]
    }

    static func nodes(from names: [String], _ random: inout SplitMix64) -> NodeValues {
        var nodes = NodeValues()
        for name in names where random.next(below: 2) == 0 { nodes[name] = value(&random) }
        return nodes
    }

    func testBackendAcceptanceNeverTrapsAndKeepsInvariants() {
        let seed = PropertyTestConfiguration.seed
        var random = SplitMix64(seed: seed)
        let offer = BackendOffer(maximumRingPages: 4, maximumSegments: 32, maximumQueues: 2)
        var accepted = 0
        for round in 0..<PropertyTestConfiguration.iterations(quick: 20_000) {
            let nodes = Self.nodes(from: Self.transportNodes, &random)
            guard let connection = try? NegotiatedConnection.accept(nodes, offer: offer, schemes: .both) else { continue }
            accepted += 1
            let label = "seed \(seed) round \(round): \(nodes.values)"
            XCTAssertLessThanOrEqual(connection.geometry.pageCount, 4, label)
            XCTAssertTrue((1...2).contains(connection.queues.count), label)
            XCTAssertTrue(connection.queues.allSatisfy { $0.ringReferences.count == connection.geometry.pageCount }, label)
            XCTAssertTrue((1...connection.geometry.entryCount).contains(connection.maximumRequests), label)
            XCTAssertTrue((11...32).contains(connection.requestLimits.maximumSegments), label)
            XCTAssertLessThanOrEqual(connection.maximumRequestSize, connection.requestLimits.maximumSegments * 4096, label)
        }
        XCTAssertGreaterThan(accepted, 0, "seed \(seed): no random transport was accepted; the generator is too hostile to test the invariants")
    }

    func testFrontendChoiceNeverTrapsAndKeepsInvariants() {
        let seed = PropertyTestConfiguration.seed
        var random = SplitMix64(seed: seed)
        for round in 0..<PropertyTestConfiguration.iterations(quick: 20_000) {
            let nodes = Self.nodes(from: Self.offerNodes, &random)
            guard let (offer, _) = try? BackendOffer.parse(nodes, schemes: .both) else { continue }
            let limits = FrontendLimits(ringPages: 1 << Int(random.next(below: 5)), queues: 2, abi: random.next(below: 2) == 0 ? .x86_32 : .x86_64)
            let (choice, _) = TransportChoice.choose(from: offer, limits: limits)
            let label = "seed \(seed) round \(round): \(nodes.values)"
            XCTAssertLessThanOrEqual(choice.geometry.pageCount, min(offer.maximumRingPages, limits.ringPages), label)
            XCTAssertTrue((1...choice.geometry.entryCount).contains(choice.maximumRequests), label)
            XCTAssertTrue((11...255).contains(choice.maximumSegments), label)
            XCTAssertTrue((1...2).contains(choice.queueCount), label)
            // What the frontend would publish is accepted by a backend making the same offer.
            let rings = standInRings(choice)
            let published = NodeValues(FrontendTransport(choice: choice, rings: rings).nodes(schemes: .both))
            let ours = BackendOffer(maximumRingPages: offer.maximumRingPages, maximumSegments: offer.maximumSegments, maximumQueues: offer.maximumQueues)
            XCTAssertNoThrow(try NegotiatedConnection.accept(published, offer: ours, schemes: .both), label)
        }
    }
}
