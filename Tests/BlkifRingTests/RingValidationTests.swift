// Attaching and consuming refuse indexes no well-behaved peer could have written.

import BlkifABI
import BlkifRing
import XCTest

/// Only the front initialises; an attaching end and every consumer validate the peer's
/// producer index (ring.h's `RING_REQUEST_PROD_OVERFLOW` / `RING_RESPONSE_PROD_OVERFLOW`) and
/// refuse a multi-entry message running past what was published, each with a typed error.
/// Every case runs at index 0 and across the 2^32 wrap.
final class RingValidationTests: XCTestCase {
    static let starts = [RingIndex(0), RingIndex(UInt32.max - 2)]
    static let geometry = try! RingGeometry(pageCount: 1, abi: .x86_64)
    static var entries: Int { geometry.entryCount }

    func testBackAttachRefusesInconsistentIndexesAndWritesNothing() throws {
        for start in Self.starts {
            let memory = RingMemory(Self.geometry)
            _ = FrontRing(initializing: memory.base, geometry: Self.geometry, startingAt: start)
            let shared = SharedRing(memory.base, geometry: Self.geometry)
            shared.requestProducer.pointee.store(start.advanced(by: UInt32(Self.entries)), ordering: .relaxed)
            let header = Array(UnsafeRawBufferPointer(start: memory.base, count: RingGeometry.headerSize))
            XCTAssertNoThrow(try BackRing(attachingTo: memory.base, geometry: Self.geometry).requestConsumer, "full ring, start \(start)")
            XCTAssertEqual(Array(UnsafeRawBufferPointer(start: memory.base, count: RingGeometry.headerSize)), header,
                           "a back never initialises, start \(start)")
            let overflow = start.advanced(by: UInt32(Self.entries + 1))
            shared.requestProducer.pointee.store(overflow, ordering: .relaxed)
            expect(.inconsistentIndexes(requestProducer: overflow, responseProducer: start, entries: Self.entries), "start \(start)") {
                _ = try BackRing(attachingTo: memory.base, geometry: Self.geometry).requestConsumer
            }
            expect(.inconsistentIndexes(requestProducer: overflow, responseProducer: start, entries: Self.entries), "start \(start)") {
                _ = try FrontRing(attachingTo: memory.base, geometry: Self.geometry)
            }
        }
    }

    func testRequestProducerOverflowIsTyped() throws {
        for start in Self.starts {
            let memory = RingMemory(Self.geometry)
            _ = FrontRing(initializing: memory.base, geometry: Self.geometry, startingAt: start)
            var back = try BackRing(attachingTo: memory.base, geometry: Self.geometry)
            let shared = back.shared
            let overflow = start.advanced(by: UInt32(Self.entries + 1))
            shared.requestProducer.pointee.store(overflow, ordering: .releasing)
            expect(.requestProducerOverflow(producer: overflow, responsesProduced: start, entries: Self.entries), "start \(start)") {
                _ = try back.takeRequest()
            }
            // a producer behind the consumer is as impossible as one too far ahead
            shared.requestProducer.pointee.store(RingIndex(start.rawValue &- 1), ordering: .releasing)
            expect(.requestProducerBehindConsumer(producer: RingIndex(start.rawValue &- 1), consumed: start),
                   "start \(start)") { _ = try back.finalCheckForRequests() }
        }
    }

    func testResponseProducerOverflowIsTyped() throws {
        for start in Self.starts {
            let memory = RingMemory(Self.geometry)
            var front = FrontRing(initializing: memory.base, geometry: Self.geometry, startingAt: start)
            for id in 0..<3 {
                front.reserveRequest()?.writeRequest(
                    operation: .read, handle: DeviceHandle(0), id: RequestID(UInt64(id)), sector: Sector(0),
                    segments: CollectionOfOne(Segment(grant: GrantRef(9))))
            }
            _ = front.pushRequests()
            // more responses than requests issued: refused even though the ring could hold them
            let overflow = start.advanced(by: 4)
            front.shared.responseProducer.pointee.store(overflow, ordering: .releasing)
            expect(.responseProducerOverflow(producer: overflow, consumed: start, requested: start.advanced(by: 3)), "start \(start)") {
                _ = try front.takeResponse(entries: { _ in 1 })
            }
            front.shared.entries(from: start, count: 1).response.write(id: RequestID(0), operation: .read, status: .okay)
            front.shared.responseProducer.pointee.store(start.advanced(by: 1), ordering: .releasing)
            expect(.responsePastProducer(at: start, entries: 2, published: 1), "start \(start)") {
                _ = try front.takeResponse(entries: { _ in 2 })
            }
            XCTAssertEqual(try front.takeResponse(entries: { _ in 1 })?.id, RequestID(0), "start \(start)")
        }
    }

    func testMultiEntryRequestPastProducerIsTyped() throws {
        for start in Self.starts {
            let memory = RingMemory(Self.geometry)
            var front = FrontRing(initializing: memory.base, geometry: Self.geometry, startingAt: start)
            var back = try BackRing(attachingTo: memory.base, geometry: Self.geometry, limits: RequestLimits(maximumSegments: 255))
            let segments = (0..<40).map { Segment(grant: GrantRef(UInt32($0))) }
            let needed = Self.geometry.abi.entriesForSegments(segments.count)
            let run = try XCTUnwrap(front.reserveRequest(entries: needed))
            run.writeRequest(operation: .write, handle: DeviceHandle(0), id: RequestID(7), sector: Sector(0), segments: segments)
            // a front that publishes the header entry but not all of its segment blocks
            front.shared.requestProducer.pointee.store(start.advanced(by: 2), ordering: .releasing)
            expect(.requestPastProducer(at: start, entries: needed, published: 2), "start \(start)") { _ = try back.takeRequest() }
            front.shared.requestProducer.pointee.store(start.advanced(by: UInt32(needed)), ordering: .releasing)
            let copy = try XCTUnwrap(try back.takeRequest(), "start \(start)")
            XCTAssertEqual(copy.entryCount, needed, "start \(start)")
        }
    }

    private func expect(_ expected: RingError, _ label: String, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected \(expected), \(label)", line: line)
        } catch {
            XCTAssertEqual(error as? RingError, expected, "\(error), \(label)", line: line)
        }
    }
}
