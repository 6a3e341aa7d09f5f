// The frontend does not trust its backend: every protocol breach fails the device with a clear
// error, pending I/O fails, and nothing waits forever.

import BlkFront
import BlkifABI
import BlkifRing
import XCTest
import XenBus

final class HostileBackendTests: XCTestCase {
    private var backend: ScriptedBackend!

    override func setUp() async throws {
        backend = try ScriptedBackend()
    }

    override func tearDown() async throws {
        backend?.tearDown()
        backend = nil
    }

    /// Starts a 4 KiB read at `offset` in its own task; returns the task and its buffer.
    private func startRead(at offset: UInt64 = 0, bytes: Int = 4096) -> (Task<Void, Error>, UnsafeMutableRawBufferPointer) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let device = backend.frontend!
        nonisolated(unsafe) let target = buffer
        return (Task { try await device.read(into: target, at: offset) }, buffer)
    }

    /// Waits for `task` to throw; returns the error's description.
    private func failure(of task: Task<Void, Error>, file: StaticString = #filePath, line: UInt = #line) async -> String {
        do {
            try await task.value
            XCTFail("the call succeeded", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testAnsweredReadDeliversTheBackendsData() async throws {
        try backend.attach()
        let (task, buffer) = startRead(at: 8192)
        defer { buffer.deallocate() }
        let request = try backend.nextRequest()
        XCTAssertEqual(request.operation, .read)
        XCTAssertEqual(request.sector, Sector(16))
        XCTAssertEqual(request.segments, 1)
        XCTAssertEqual(request.sectors, 8)
        try backend.fillFirstPage(of: request, with: 0xAB)
        backend.respond(id: request.id, operation: .read)
        try await task.value
        XCTAssertTrue(buffer.allSatisfy { $0 == 0xAB })
        XCTAssertNil(backend.frontend.failure)
    }

    func testResponseWithAnIDNeverIssuedFailsTheDevice() async throws {
        try backend.attach()
        let (task, buffer) = startRead()
        defer { buffer.deallocate() }
        let request = try backend.nextRequest()
        backend.respond(id: RequestID(request.id.rawValue ^ 0x7700_0000_0000), operation: .read)
        let message = await failure(of: task)
        XCTAssertTrue(message.contains("answers no request in flight"), message)
        XCTAssertNotNil(backend.frontend.failure)
        let (later, laterBuffer) = startRead()
        defer { laterBuffer.deallocate() }
        let laterMessage = await failure(of: later)
        XCTAssertTrue(laterMessage.contains("broke the protocol"), laterMessage)
    }

    func testSecondAnswerToOneRequestFailsTheDevice() async throws {
        try backend.attach()
        let (first, firstBuffer) = startRead(at: 0)
        defer { firstBuffer.deallocate() }
        let (second, secondBuffer) = startRead(at: 4096)
        defer { secondBuffer.deallocate() }
        let one = try backend.nextRequest()
        _ = try backend.nextRequest()
        backend.respond(id: one.id, operation: .read)
        try await first.value
        backend.respond(id: one.id, operation: .read)  // again, in the second request's place
        let message = await failure(of: second)
        XCTAssertTrue(message.contains("already answered"), message)
    }

    func testOperationOtherThanTheRequestsFailsTheDevice() async throws {
        try backend.attach()
        let (task, buffer) = startRead()
        defer { buffer.deallocate() }
        let request = try backend.nextRequest()
        backend.respond(id: request.id, operation: .write)
        let message = await failure(of: task)
        XCTAssertTrue(message.contains("carries operation write, its request was read"), message)
    }

    func testResponseProducerPastTheIssuedRequestsFailsTheDevice() async throws {
        try backend.attach()
        let (task, buffer) = startRead()
        defer { buffer.deallocate() }
        _ = try backend.nextRequest()
        backend.publishResponseProducer(RingIndex(9))
        let message = await failure(of: task)
        XCTAssertTrue(message.contains("rsp_prod 9"), message)
    }

    func testUnansweredRequestFailsAfterTheTimeout() async throws {
        try backend.attach(FrontendOptions(queueDepth: 8, requestTimeout: .seconds(1)))
        let started = ContinuousClock.now
        let (task, buffer) = startRead()
        defer { buffer.deallocate() }
        _ = try backend.nextRequest()
        let message = await failure(of: task)
        XCTAssertTrue(message.contains("unanswered"), message)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
    }

    func testBackendClosingFailsPendingIO() async throws {
        try backend.attach()
        let (task, buffer) = startRead()
        defer { buffer.deallocate() }
        _ = try backend.nextRequest()
        backend.driver.requestClose()
        try backend.driver.run(until: [.closing, .closed], timeout: .seconds(5))
        let message = await failure(of: task)
        XCTAssertTrue(message.contains("has failed"), message)
    }

    func testMisalignedOrOutOfRangeCallsAreRefusedBeforeTheRing() async throws {
        try backend.attach()
        let device = try XCTUnwrap(backend.frontend)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { buffer.deallocate() }
        do {
            try await device.read(into: buffer, at: 100)
            XCTFail("a misaligned read was issued")
        } catch {
            XCTAssertEqual(error, .misaligned(offset: 100, length: 4096))
        }
        do {
            try await device.read(into: buffer, at: device.capacity - 512)
            XCTFail("a read past the end was issued")
        } catch {
            XCTAssertEqual(error, .beyondEnd(offset: device.capacity - 512, length: 4096, capacity: device.capacity))
        }
        do {
            try await device.discard(at: 0, length: 4096)
            XCTFail("a discard the backend does not offer was issued")
        } catch {
            XCTAssertEqual(error, .notOffered(.discard, feature: "feature-discard"))
        }
        XCTAssertNil(device.failure)
    }
}
