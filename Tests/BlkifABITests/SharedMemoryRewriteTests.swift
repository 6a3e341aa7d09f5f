import BlkifABI
import Foundation
import XCTest

/// Ring entries and indirect pages are memory the frontend can write at any moment, even while
/// the backend reads them. A thread plays that frontend here, rewriting the bytes without pause:
/// each decode must give a typed error or a result consistent with itself, never a trap.
final class SharedMemoryRewriteTests: XCTestCase {
    /// `last_sect` of every segment flips between 7 (valid) and 8 (outside the page) and
    /// `first_sect` between 0 and 9 while the segments are copied out and validated.
    func testIndirectPagesRewrittenDuringDecodingGiveAnErrorOrAConsistentCopy() throws {
        let count = 64
        let pages = UnsafeMutableRawPointer.allocate(byteCount: RingGeometry.pageSize, alignment: RingGeometry.pageSize)
        defer { pages.deallocate() }
        let page = IndirectPageView(pages)
        for slot in 0..<count { page.setSegment(slot, to: Segment(grant: GrantRef(UInt32(slot)))) }
        let request = try indirectRequest(count: count)
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: request.segmentBytes, alignment: 8)
        defer { copy.deallocate() }

        var outcomes = (valid: 0, errors: 0)
        try rewriting(pages, offsets: (0..<count).flatMap { [$0 * 8 + 4, $0 * 8 + 5] }, values: [(0, 9), (7, 8)]) {
            do {
                let segments = try request.segments(copying: UnsafeRawBufferPointer(start: pages, count: RingGeometry.pageSize), into: copy)
                XCTAssertEqual(segments.count, count)
                XCTAssertTrue(segments.allSatisfy(\.isValid), "a validated copy holds only valid segments")
                XCTAssertGreaterThan(segments.sectorCount, 0)
                outcomes.valid += 1
            } catch let error as RequestError {
                XCTAssertEqual(error.id, request.id)
                XCTAssertEqual(error.operation, .write, "the error echoes the inner operation")
                outcomes.errors += 1
            } catch {
                XCTFail("not a RequestError: \(error)")
            }
        }
        print("indirect pages rewritten: \(outcomes.valid) consistent copies, \(outcomes.errors) RequestErrors")
        XCTAssertGreaterThan(outcomes.valid + outcomes.errors, 0)
    }

    /// `nr_segments` flips between 1 (one entry) and 30 (three entries on x86_64) while the
    /// request is copied out: the entries `copyRequest` reports always match the request the
    /// copy decodes to, because both come from one read of the header.
    func testEntryCountAndDecodedSegmentsAgreeWhileTheHeaderIsRewritten() throws {
        let abi = ABI.x86_64
        let limits = RequestLimits(maximumSegments: 255)
        let entries = abi.entriesForSegments(30)
        let ring = UnsafeMutableRawPointer.allocate(byteCount: entries * abi.layout.entrySize, alignment: 16)
        defer { ring.deallocate() }
        let run = RingEntries(contiguous: ring, count: entries, abi: abi)
        run.writeRequest(operation: .read, handle: DeviceHandle(1), id: RequestID(5), sector: Sector(0),
                         segments: (0..<30).map { Segment(grant: GrantRef(UInt32($0))) })
        let copy = UnsafeMutableRawPointer.allocate(byteCount: abi.layout.copySize(entries: entries), alignment: 16)
        defer { copy.deallocate() }

        var sizes = Set<Int>()
        try rewriting(ring, offsets: [BlkifLayout.secondByteOffset], values: [(1, 30)]) {
            let (bytes, entryCount) = run.copyRequest(into: copy, limits: limits)
            guard case .read(let transfer) = try BlkifRequest.decode(bytes, abi: abi, limits: limits) else {
                return XCTFail("a read decoded as something else")
            }
            XCTAssertEqual(entryCount, abi.entriesForSegments(transfer.segments.count), "the count and the decoded request disagree")
            sizes.insert(transfer.segments.count)
        }
        XCTAssertFalse(sizes.isEmpty)
    }

    // MARK: Helpers

    private func indirectRequest(count: Int) throws -> IndirectTransfer {
        let entry = UnsafeMutableRawPointer.allocate(byteCount: ABI.x86_64.layout.entrySize, alignment: 16)
        defer { entry.deallocate() }
        IndirectRequestView(entry, abi: .x86_64).write(
            indirectOperation: .write, segmentCount: UInt16(count), handle: DeviceHandle(1), id: RequestID(77), sector: Sector(0),
            grants: [GrantRef(1)])
        let limits = RequestLimits(maximumIndirectSegments: count, capacity: Sector(1 << 20))
        guard case .indirect(let request) = try BlkifRequest.decode(
            UnsafeRawBufferPointer(start: entry, count: ABI.x86_64.layout.entrySize), abi: .x86_64, limits: limits)
        else { throw UnexpectedDecoding() }
        return request
    }

    /// Runs `body` repeatedly for 0.3 s while another thread writes, without pause, at offset
    /// `offsets[i]` of `memory` the first and then the second value of `values[i % values.count]`.
    private func rewriting(
        _ memory: UnsafeMutableRawPointer, offsets: [Int], values: [(UInt8, UInt8)], body: () throws -> Void
    ) throws {
        let stop = StopFlag()
        let target = UncheckedAddress(memory)
        let writer = Thread {
            var flip = false
            while !stop.isSet {
                flip.toggle()
                for (index, offset) in offsets.enumerated() {
                    let pair = values[index % values.count]
                    target.address.storeBytes(of: flip ? pair.0 : pair.1, toByteOffset: offset, as: UInt8.self)
                }
            }
            stop.acknowledge()
        }
        writer.start()
        defer { stop.setAndWait() }
        let deadline = ContinuousClock.now + .milliseconds(300)
        while ContinuousClock.now < deadline { try body() }
    }
}

/// An indirect request that decoded as another kind of request.
private struct UnexpectedDecoding: Error {}

/// A raw address handed to the rewriting thread, which stops before the memory is freed.
private struct UncheckedAddress: @unchecked Sendable {
    let address: UnsafeMutableRawPointer
    init(_ address: UnsafeMutableRawPointer) { self.address = address }
}

/// Tells the rewriting thread to stop and waits until it has.
private final class StopFlag: @unchecked Sendable {
    private let condition = NSCondition()
    private var set = false
    private var stopped = false

    var isSet: Bool { condition.withLock { set } }

    func acknowledge() { condition.withLock { stopped = true; condition.broadcast() } }

    func setAndWait() {
        condition.withLock {
            set = true
            while !stopped { condition.wait() }
        }
    }
}
