// The synchronous submit-and-reap path: answers come back by tag, the device's checks still apply.

import BlkFront
import BlkifABI
import XCTest

final class PolledQueueTests: XCTestCase {
    func testSubmittedReadsAreReapedByTagInAnyOrder() throws {
        let backend = try ScriptedBackend()
        defer { backend.tearDown() }
        try backend.attach()
        let queue = try XCTUnwrap(backend.frontend).polledQueue(0)
        defer { queue.close() }
        let buffers = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * 4096, alignment: 4096)
        defer { buffers.deallocate() }
        XCTAssertTrue(try queue.submitRead(into: UnsafeMutableRawBufferPointer(rebasing: buffers[0..<4096]), at: 0, tag: 70))
        XCTAssertTrue(try queue.submitRead(into: UnsafeMutableRawBufferPointer(rebasing: buffers[4096...]), at: 4096, tag: 71))
        let first = try backend.nextRequest(), second = try backend.nextRequest()
        try backend.fillFirstPage(of: second, with: 0x5A)
        backend.respond(id: second.id, operation: .read)
        backend.respond(id: first.id, operation: .read, status: .error)
        let completions = UnsafeMutableBufferPointer<PolledCompletion>.allocate(capacity: 4)
        defer { completions.deallocate() }
        var reaped: [PolledCompletion] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while reaped.count < 2, ContinuousClock.now < deadline {
            let count = try queue.reap(into: completions, waitingUpTo: .milliseconds(100))
            reaped += completions.prefix(count)
        }
        XCTAssertEqual(reaped, [PolledCompletion(tag: 71, status: .okay), PolledCompletion(tag: 70, status: .error)])
        XCTAssertTrue(buffers[4096...].allSatisfy { $0 == 0x5A })
    }

    func testReapThrowsOnceTheBackendBreaksTheProtocol() throws {
        let backend = try ScriptedBackend()
        defer { backend.tearDown() }
        try backend.attach()
        let queue = try XCTUnwrap(backend.frontend).polledQueue(0)
        defer { queue.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { buffer.deallocate() }
        XCTAssertThrowsError(try queue.submitRead(into: buffer, at: 1, tag: 0))  // misaligned
        XCTAssertTrue(try queue.submitRead(into: buffer, at: 0, tag: 1))
        let request = try backend.nextRequest()
        backend.respond(id: request.id, operation: .discard)
        let completions = UnsafeMutableBufferPointer<PolledCompletion>.allocate(capacity: 4)
        defer { completions.deallocate() }
        XCTAssertThrowsError(try queue.reap(into: completions, waitingUpTo: .seconds(1))) { error in
            XCTAssertTrue("\(error)".contains("carries operation discard"), "\(error)")
        }
    }
}
