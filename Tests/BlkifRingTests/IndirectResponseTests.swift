import BlkifABI
import BlkifRing
import XCTest

/// An indirect request is answered with the read or write it carried (`indirect_op`), never with
/// `BLKIF_OP_INDIRECT`: Linux's blkfront compares each response's operation with the one it
/// issued (the inner one for an indirect request) and fails the device on a mismatch.
final class IndirectResponseTests: XCTestCase {
    private let limits = RequestLimits(maximumSegments: 255, maximumIndirectSegments: 64)

    /// Valid and malformed indirect requests, served by `serveRequests` and by
    /// `takeRequest`/`writeResponse`: every response carries the inner operation, as the
    /// frontend's Linux-style check requires, in both ABIs.
    func testEveryResponseCarriesTheOperationTheFrontendIssued() throws {
        // (inner operation, segment count): valid reads and writes, too many segments, and an
        // inner operation that is not read or write; each is echoed as written.
        let requests: [(BlkifABI.Operation, Int)] = [(.read, 8), (.write, 64), (.read, 65), (.write, 0), (.flushDiskCache, 4), (Operation(rawValue: 0x77), 1)]
        for abi in [ABI.x86_64, .x86_32] {
            for batch in [false, true] {
                let ring = try TestRing(abi: abi, pages: 1, limits: limits)
                for (id, request) in requests.enumerated() {
                    let run = try XCTUnwrap(ring.front.reserveRequest(entries: 1))
                    IndirectRequestView(run.entry(0), abi: abi).write(
                        indirectOperation: request.0, segmentCount: UInt16(request.1), handle: DeviceHandle(3), id: RequestID(UInt64(id)),
                        sector: Sector(0), grants: [GrantRef(7)])
                }
                _ = ring.front.pushRequests()
                if batch {
                    var responder = StatusOfDecoding()
                    XCTAssertEqual(try ring.back.serveRequests(with: &responder).count, requests.count)
                } else {
                    while let copy = try ring.back.takeRequest() {
                        let header = copy.header
                        let status: Status
                        do { status = try copy.decode().operation == header.operation ? .okay : .error } catch { status = error.status }
                        ring.back.writeResponse(Response(id: header.id, operation: header.operation, status: status), entries: copy.entryCount)
                    }
                    _ = ring.back.pushResponses()
                }
                for (id, request) in requests.enumerated() {
                    let response = try XCTUnwrap(try ring.front.takeResponse(entries: { _ in 1 }), "\(abi) batch \(batch)")
                    XCTAssertEqual(response.id, RequestID(UInt64(id)), "\(abi) batch \(batch)")
                    XCTAssertEqual(response.operation, request.0, "\(abi) batch \(batch): response has wrong operation")
                    XCTAssertNotEqual(response.operation, .indirect, "\(abi) batch \(batch)")
                    XCTAssertEqual(response.status, id < 2 ? .okay : .error, "\(abi) batch \(batch) request \(id)")
                }
            }
        }
    }

    /// A decoded indirect request and every error decoding one name the inner operation.
    func testDecodedIndirectRequestsAndTheirErrorsNameTheInnerOperation() throws {
        for abi in [ABI.x86_64, .x86_32] {
            let entry = UnsafeMutableRawPointer.allocate(byteCount: abi.layout.entrySize, alignment: 16)
            defer { entry.deallocate() }
            let view = IndirectRequestView(entry, abi: abi)
            view.write(indirectOperation: .write, segmentCount: 3, handle: DeviceHandle(1), id: RequestID(9), sector: Sector(0), grants: [GrantRef(1)])
            let bytes = UnsafeRawBufferPointer(start: entry, count: abi.layout.entrySize)
            XCTAssertEqual(try BlkifRequest.decode(bytes, abi: abi, limits: limits).operation, .write, "\(abi)")
            for (limits, reason) in [(RequestLimits(), RequestError.Reason.indirectNotNegotiated),
                                     (RequestLimits(maximumIndirectSegments: 2), .segmentCount(3, allowed: 1...2))] {
                XCTAssertThrowsError(try BlkifRequest.decode(bytes, abi: abi, limits: limits)) { error in
                    XCTAssertEqual(error as? RequestError, RequestError(id: RequestID(9), operation: .write, reason: reason), "\(abi)")
                }
            }
        }
    }
}

/// Answers with the status decoding gives: okay, or the error's.
private struct StatusOfDecoding: RequestResponder {
    mutating func respond(to request: RequestCopy) -> Status {
        do {
            return try request.decode().operation == request.header.operation ? .okay : .error
        } catch {
            return error.status
        }
    }
}
