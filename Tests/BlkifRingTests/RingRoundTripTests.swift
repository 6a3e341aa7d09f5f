import BlkifABI
import BlkifRing
import XCTest

/// One process, both ends: requests of every size go round the ring, across the 2^32 wrap.
final class RingRoundTripTests: XCTestCase {
    func testMixedRequestsRoundTripAcrossIndexWrap() throws {
        for abi in [ABI.x86_64, .x86_32] {
            for pages in [1, 4] {
                try roundTrip(abi: abi, pages: pages, start: RingIndex(UInt32.max - 100), requests: 5_000)
            }
        }
    }

    private func roundTrip(abi: ABI, pages: Int, start: RingIndex, requests: Int) throws {
        let geometry = try RingGeometry(pageCount: pages, abi: abi)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: geometry.byteCount, alignment: RingGeometry.pageSize)
        defer { memory.deallocate() }
        var front = FrontRing(initializing: memory, geometry: geometry, startingAt: start)
        let limits = RequestLimits(maximumSegments: 255)
        var back = try BackRing(attachingTo: memory, geometry: geometry, limits: limits)
        var sent = 0, answered = 0
        var entriesByID: [UInt64: Int] = [:]
        while answered < requests {
            while sent < requests {
                let segments = 1 + (sent * 7) % 40
                let entries = abi.entriesForSegments(segments)
                guard let run = front.reserveRequest(entries: entries) else { break }
                run.writeRequest(
                    operation: sent % 2 == 0 ? .read : .write, handle: DeviceHandle(3), id: RequestID(UInt64(sent)),
                    sector: Sector(UInt64(sent) * 8),
                    segments: (0..<segments).map { Segment(grant: GrantRef(UInt32(sent + $0)), firstSector: 1, lastSector: 6) })
                entriesByID[UInt64(sent)] = entries
                sent += 1
            }
            _ = front.pushRequests()
            while let copy = try back.takeRequest() {
                switch try copy.decode() {
                case .read(let transfer), .write(let transfer): check(transfer, entries: copy.entryCount, abi: abi)
                default: XCTFail("only reads and writes were sent")
                }
                back.writeResponse(Response(id: copy.header.id, operation: copy.header.operation, status: .okay), entries: copy.entryCount)
            }
            _ = back.pushResponses()
            while let response = try front.takeResponse(entries: { entriesByID[$0.id.rawValue] ?? 1 }) {
                XCTAssertEqual(response.id.rawValue, UInt64(answered), "responses arrive in order")
                XCTAssertEqual(response.status, .okay)
                answered += 1
            }
        }
        XCTAssertEqual(front.freeRequests, geometry.entryCount)
    }

    private func check(_ transfer: Transfer, entries: Int, abi: ABI) {
        let id = Int(transfer.id.rawValue)
        XCTAssertEqual(transfer.segments.count, 1 + (id * 7) % 40)
        XCTAssertEqual(entries, abi.entriesForSegments(transfer.segments.count))
        XCTAssertEqual(transfer.sector, Sector(UInt64(id) * 8))
        for (j, segment) in transfer.segments.enumerated() {
            XCTAssertEqual(segment, Segment(grant: GrantRef(UInt32(id + j)), firstSector: 1, lastSector: 6))
        }
    }
}
