import BlkifABI
import BlkifRing
import XCTest

/// The conveniences a library consumer uses instead of computing entries or touching atomics.
final class ConsumerAPITests: XCTestCase {
    /// `reserveRequest(segments:)` reserves what `writeRequest` needs for every count, in both
    /// ABIs; the request decodes on the other end with all its segments.
    func testReservingBySegmentCountFitsEveryRequest() throws {
        for abi in [ABI.x86_64, .x86_32] {
            for count in [0, 1, 11, 12, 25, 26, 255] {
                let ring = try TestRing(abi: abi, pages: 1)
                let run = try XCTUnwrap(ring.front.reserveRequest(segments: count), "\(abi) \(count)")
                XCTAssertEqual(run.count, abi.entriesForSegments(count), "\(abi) \(count)")
                run.writeRequest(operation: count == 0 ? .flushDiskCache : .write, handle: DeviceHandle(1), id: RequestID(7),
                                 sector: Sector(0), segments: (0..<count).map { Segment(grant: GrantRef(UInt32($0))) })
                _ = ring.front.pushRequests()
                let copy = try XCTUnwrap(try ring.back.takeRequest(), "\(abi) \(count)")
                XCTAssertEqual(copy.entryCount, run.count, "\(abi) \(count)")
                switch try copy.decode() {
                case .write(let transfer), .flushDiskCache(let transfer):
                    XCTAssertEqual(transfer.segments.count, count, "\(abi) \(count)")
                default:
                    XCTFail("\(abi) \(count): decoded as another operation")
                }
            }
        }
    }

    /// A full ring refuses a reservation by segments as by entries.
    func testReservingBySegmentsOnAFullRingIsNil() throws {
        let ring = try TestRing(abi: .x86_64, pages: 1)
        while ring.front.reserveRequest(segments: 1) != nil {}
        XCTAssertEqual(ring.front.freeRequests, 0)
        XCTAssertNil(ring.front.reserveRequest(segments: 255))
    }

    /// `shared.indexes` reads the four indexes as both ends see them.
    func testIndexesReadTheSharedHeader() throws {
        let ring = try TestRing(abi: .x86_32, pages: 1, start: RingIndex(UInt32.max - 1))
        XCTAssertEqual(ring.shared.indexes.requestProducer, RingIndex(UInt32.max - 1))
        XCTAssertEqual(ring.shared.indexes.requestEvent, RingIndex(UInt32.max))
        for id in 0..<3 { ring.write(id: id, segments: 1) }
        _ = ring.front.pushRequests()
        var checker = Checker()
        _ = try ring.back.serveRequests(with: &checker)
        let indexes = ring.shared.indexes
        XCTAssertEqual(indexes.requestProducer, RingIndex(1))
        XCTAssertEqual(indexes.responseProducer, RingIndex(1))
        XCTAssertEqual(indexes.responseEvent, RingIndex(UInt32.max))
        XCTAssertEqual("\(indexes)", "req_prod 1 req_event \(indexes.requestEvent) rsp_prod 1 rsp_event \(UInt32.max)")
    }
}
