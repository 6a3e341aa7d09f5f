import BlkifRing
import Foundation
import XCTest

/// `FutexEventChannel.wait(timeout:)` accepts any timeout: "forever" waits for the peer, a
/// short one returns in time.
final class FutexEventChannelTests: XCTestCase {
    /// `.seconds(Int64.max)` (and `Duration`'s own largest values) used to overflow the
    /// nanosecond count and trap; now they wait without a limit until the peer notifies.
    func testTheLongestTimeoutsWaitUntilNotified() throws {
        let words = UnsafeMutableRawPointer.allocate(byteCount: FutexEventChannel.byteCount, alignment: 4)
        defer { words.deallocate() }
        words.initializeMemory(as: UInt8.self, repeating: 0, count: FutexEventChannel.byteCount)
        for timeout in [Duration.seconds(Int64.max), .seconds(Int64.max / 1_000_000_000 + 1), .nanoseconds(Int64.max)] {
            var back = FutexEventChannel(words: words, side: .back)
            let notifier = Thread { [words = UncheckedPointer(words)] in
                Thread.sleep(forTimeInterval: 0.05)
                var front = FutexEventChannel(words: words.pointer, side: .front)
                front.notify()
            }
            let began = ContinuousClock.now
            notifier.start()
            XCTAssertTrue(back.wait(timeout: timeout), "\(timeout)")
            XCTAssertLessThan(ContinuousClock.now - began, .seconds(5), "\(timeout)")
        }
    }

    /// A wait with nothing sent returns false once its timeout has passed, not much later.
    func testAShortWaitTimesOutInTime() {
        let words = UnsafeMutableRawPointer.allocate(byteCount: FutexEventChannel.byteCount, alignment: 4)
        defer { words.deallocate() }
        words.initializeMemory(as: UInt8.self, repeating: 0, count: FutexEventChannel.byteCount)
        var back = FutexEventChannel(words: words, side: .back)
        let began = ContinuousClock.now
        XCTAssertFalse(back.wait(timeout: .milliseconds(50)))
        let waited = ContinuousClock.now - began
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(50))
        XCTAssertLessThan(waited, .seconds(2))
    }
}

/// A raw pointer handed to another thread by a test that outlives it.
private struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}
