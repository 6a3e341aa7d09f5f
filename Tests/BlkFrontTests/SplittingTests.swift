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

    /// Linux's blkback writes `feature-max-indirect-segments` only as it connects. The frontend
    /// takes it then (up to its own limit), sizes its slots for it, and sends a 128 KiB read as
    /// one indirect request of 32 segments.
    func testIndirectSegmentsAnnouncedOnlyAtConnectedAreUsed() async throws {
        let backend = try ScriptedBackend(offer: BackendOffer(maximumRingPages: 1), announcedAtConnect: ["feature-max-indirect-segments": "32"])
        defer { backend.tearDown() }
        try backend.attach(FrontendOptions(queueDepth: 8, indirectSegments: 64))
        let device = try XCTUnwrap(backend.frontend)
        XCTAssertEqual(device.connection.requestLimits.maximumIndirectSegments, 32)
        XCTAssertEqual(device.maximumRequestBytes, 128 * 1024)
        try await readAnswered(by: backend, on: device, bytes: 128 * 1024, expecting: [(.read, 0, 32)])
    }

    /// A backend whose word at Connected is lower than its offer at InitWait (16), or withdraws
    /// it (0): requests are sized by that word (64 KiB indirect, or the header's 11 segments),
    /// never by what the slots were first granted for (64).
    func testIndirectSegmentsLoweredOrWithdrawnAtConnectedBoundTheRequests() async throws {
        let cases: [(announced: Int, bytes: Int, expected: [(BlkifABI.Operation, UInt64, Int)])] = [
            (16, 64 * 1024, [(.read, 0, 16), (.read, 128, 16)]),
            (0, 44 * 1024, [(.read, 0, 11), (.read, 88, 11)]),
        ]
        for (announced, bytes, expected) in cases {
            let backend = try ScriptedBackend(offer: BackendOffer(maximumRingPages: 1, maximumIndirectSegments: 64),
                                              announcedAtConnect: ["feature-max-indirect-segments": String(announced)])
            defer { backend.tearDown() }
            try backend.attach(FrontendOptions(queueDepth: 8, indirectSegments: 64))
            let device = try XCTUnwrap(backend.frontend)
            XCTAssertEqual(device.connection.requestLimits.maximumIndirectSegments, announced)
            XCTAssertEqual(device.maximumRequestBytes, bytes, "announced \(announced)")
            try await readAnswered(by: backend, on: device, bytes: 2 * bytes, expecting: expected)
        }
    }

    /// Slots for 256 indirect segments announced at Connected need more pages than the frontend's
    /// grant table holds: the attach fails naming the count and the refusal, after closing the
    /// device with the backend (which reaches Closed).
    func testIndirectPagesTheGrantTableCannotHoldFailTheAttachByName() throws {
        let backend = try ScriptedBackend(offer: BackendOffer(maximumRingPages: 1), announcedAtConnect: ["feature-max-indirect-segments": "256"])
        defer { backend.tearDown() }
        let (error, backendState) = backend.attachExpectingFailure(FrontendOptions(queueDepth: 8, indirectSegments: 256))
        guard case .attachFailed(let message) = error as? BlockDeviceError else { return XCTFail("attach: \(String(describing: error))") }
        XCTAssertTrue(message.contains("256 indirect segments settled at Connected") && message.contains("no room to grant"), message)
        XCTAssertEqual(backendState, .closed)
    }

    /// Reads `bytes` at sector 0, checks the requests the backend takes (operation echoed, first
    /// sector, segments) and answers each.
    private func readAnswered(by backend: ScriptedBackend, on device: BlockDevice, bytes: Int,
                              expecting expected: [(BlkifABI.Operation, UInt64, Int)]) async throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 4096)
        defer { buffer.deallocate() }
        nonisolated(unsafe) let target = buffer
        let task = Task { try await device.read(into: target, at: 0) }
        var requests: [ScriptedBackend.TakenRequest] = []
        for _ in expected { requests.append(try backend.nextRequest()) }
        XCTAssertEqual(requests.map(\.operation), expected.map(\.0))
        XCTAssertEqual(requests.map(\.sector), expected.map { Sector($0.1) })
        XCTAssertEqual(requests.map(\.segments), expected.map(\.2))
        for request in requests { backend.respond(id: request.id, operation: request.operation, entries: request.entries) }
        try await task.value
        XCTAssertNil(device.failure)
    }
}
