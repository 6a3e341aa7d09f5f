// Large transfers are split by the negotiated limits; answers may come in any order.

import BlkFront
import BlkifABI
import XCTest
import XenBus

final class SplittingTests: XCTestCase {
    func testLargeReadIsSplitIntoRequestsOfTheNegotiatedSizeAnsweredOutOfOrder() async throws {
        let backend = try ScriptedBackend(offer: BackendOffer(maximumRingPages: 1))  // 11 segments: 44 KiB per request
        defer { backend.tearDown() }
        try backend.attach()
        let device = try XCTUnwrap(backend.frontend)
        XCTAssertEqual(device.maximumRequestBytes, 44 * 1024)
        let bytes = 100 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 4096)
        defer { buffer.deallocate() }
        nonisolated(unsafe) let target = buffer
        let task = Task { try await device.read(into: target, at: 4096) }
        var requests = [try backend.nextRequest(), try backend.nextRequest(), try backend.nextRequest()]
        XCTAssertEqual(requests.map(\.operation), [.read, .read, .read])
        XCTAssertEqual(requests.map(\.sector), [Sector(8), Sector(96), Sector(184)])
        XCTAssertEqual(requests.map(\.sectors), [88, 88, 24])
        XCTAssertEqual(requests.map(\.segments), [11, 11, 3])
        requests.reverse()
        for request in requests { backend.respond(id: request.id, operation: .read, entries: request.entries) }
        try await task.value
        XCTAssertNil(device.failure)
    }

    func testFailedPartFailsTheWholeTransferWithItsSector() async throws {
        let backend = try ScriptedBackend(offer: BackendOffer(maximumRingPages: 1))
        defer { backend.tearDown() }
        try backend.attach()
        let device = try XCTUnwrap(backend.frontend)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 88 * 1024, alignment: 4096)
        defer { buffer.deallocate() }
        nonisolated(unsafe) let source = UnsafeRawBufferPointer(buffer)
        let task = Task { try await device.write(from: source, at: 0) }
        let first = try backend.nextRequest(), second = try backend.nextRequest()
        backend.respond(id: first.id, operation: .write)
        backend.respond(id: second.id, operation: .write, status: .error)
        do {
            try await task.value
            XCTFail("the write succeeded")
        } catch let error as BlockDeviceError {
            XCTAssertEqual(error, .ioError(.write, sector: Sector(88), sectors: 88))
        }
        XCTAssertNil(device.failure, "an error status fails the call, not the device")
    }
}
