// The hot path allocates nothing and retains nothing, counted by a preloaded shim.

import BlkifABI
import BlkifRing
import Foundation
import TestSupport
import XCTest

/// Re-runs this test in a child process with `alloc_counter.c` preloaded (it counts every
/// malloc-family call and every `swift_retain`), where 100,000 round trips (write, publish,
/// copy, decode, answer, take) of 11-segment requests run on one thread after a warm-up, every
/// other one through the batch calls (`serveRequests(with:)`, `takeResponses(with:)`).
/// Optimised (`make test-alloc-ring`), the child asserts both counts stay at 0. Unoptimised
/// (`-Onone` iterates generics through unspecialised witnesses, which box each element on
/// the heap), it asserts every allocation of the loop was freed within it (no growth)
/// and prints the counts.
final class RingAllocationTests: XCTestCase {
    static let childVariable = "BLKIF_ALLOCATION_CHILD"
    static let roundTrips = 100_000

    func testHotPathAllocatesAndRetainsNothing() throws {
        if ProcessInfo.processInfo.environment[Self.childVariable] == "1" { return try measureInChild() }
        let source = CPeer.sourceDirectory(besides: #filePath).appendingPathComponent("alloc_counter.c")
        let shim = try CPeer.build([source], bits: .m64, name: "alloc_counter.so", flags: ["-shared", "-fPIC", "-ldl"])
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let result = try ChildProcess.run(
            executable, ["InteropTests.RingAllocationTests/testHotPathAllocatesAndRetainsNothing"],
            environment: [Self.childVariable: "1", "LD_PRELOAD": shim.path], timeout: .seconds(120))
        let report = result.standardOutput.split(separator: "\n").filter { $0.contains("hot path (") }.joined()
        print(report)
        XCTAssertEqual(result.status, 0, "child: \(result.standardOutput)\n\(result.standardError)")
        XCTAssertTrue(report.contains("-Onone") || report.contains(" 0 allocations, 0 retains"), "child reported: \(report)")
    }

    /// In the child: counts over the loop and fails unless both are 0.
    private func measureInChild() throws {
        guard let allocations = counter("blkif_allocation_count"), let frees = counter("blkif_free_count"),
              let retains = counter("blkif_retain_count") else {
            return XCTFail("the allocation counter is not preloaded")
        }
        let geometry = try RingGeometry(pageCount: 1, abi: .x86_64)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: geometry.byteCount, alignment: RingGeometry.pageSize)
        defer { memory.deallocate() }
        var front = FrontRing(initializing: memory, geometry: geometry, startingAt: RingIndex(UInt32.max - 50_000))
        var back = try BackRing(attachingTo: memory, geometry: geometry, limits: RequestLimits(maximumSegments: 255))
        var mismatches = try roundTrips(1_000, front: &front, back: &back)  // warm-up: lazy globals, metadata
        let (allocationsBefore, retainsBefore, liveBefore) = (allocations(), retains(), frees())
        mismatches += try roundTrips(Self.roundTrips, front: &front, back: &back)
        let (allocated, retained, live) = (allocations() - allocationsBefore, retains() - retainsBefore, frees())
        print("hot path (\(Self.build)): \(Self.roundTrips) round trips, \(allocated) allocations, "
              + "\(retained) retains, \(live - liveBefore) frees, \(mismatches) mismatches")
        XCTAssertEqual(mismatches, 0)
        // No growth: the loop frees at least what it allocates (it may also free what the
        // warm-up left to lazy release).
        XCTAssertGreaterThanOrEqual(live - liveBefore, allocated, "allocations outlived the loop")
        #if !DEBUG
        XCTAssertEqual(allocated, 0)
        XCTAssertEqual(retained, 0)
        #endif
    }

    #if DEBUG
    static let build = "-Onone"
    #else
    static let build = "optimised"
    #endif

    /// `count` one-at-a-time round trips; returns how many came back wrong (no XCTest calls inside).
    private func roundTrips(_ count: Int, front: inout FrontRing, back: inout BackRing) throws -> Int {
        var mismatches = 0
        for index in 0..<UInt64(count) {
            guard let run = front.reserveRequest(entries: 1) else { return mismatches + 1 }
            run.request.writeHeader(operation: .write, segmentCount: 11, handle: DeviceHandle(1), id: RequestID(index), sector: Sector(index))
            for segment in 0..<11 {
                run.setSegment(segment, to: Segment(grant: GrantRef(UInt32(segment)), firstSector: 0, lastSector: 7))
            }
            _ = front.pushRequests()
            if index % 2 == 1 {
                var responder = ElevenSegmentWrites(next: index)
                var handler = InOrderResponses(next: index)
                guard try back.serveRequests(with: &responder).count == 1, try front.takeResponses(with: &handler) == 1 else {
                    return mismatches + 1
                }
                mismatches += responder.mismatches + handler.mismatches
                continue
            }
            guard let copy = try back.takeRequest(), case .write(let transfer) = try copy.decode() else { return mismatches + 1 }
            if transfer.id != RequestID(index) || transfer.segments.count != 11 || transfer.segments[10].grant != GrantRef(10) { mismatches += 1 }
            back.writeResponse(Response(id: transfer.id, operation: .write, status: .okay), entries: copy.entryCount)
            _ = back.pushResponses()
            guard let response = try front.takeResponse(entries: { _ in 1 }), response.id == RequestID(index) else { return mismatches + 1 }
        }
        return mismatches
    }

    private func counter(_ name: String) -> (() -> UInt)? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }  // RTLD_DEFAULT
        let function = unsafeBitCast(symbol, to: (@convention(c) () -> UInt).self)
        return { function() }
    }
}

/// Checks the allocation test's requests as `serveRequests(with:)` hands them over.
private struct ElevenSegmentWrites: RequestResponder {
    var next: UInt64
    var mismatches = 0

    mutating func respond(to request: RequestCopy) -> Status {
        defer { next += 1 }
        guard case .write(let transfer) = try? request.decode(), transfer.id == RequestID(next), transfer.segments.count == 11,
              transfer.segments[10].grant == GrantRef(10) else {
            mismatches += 1
            return .error
        }
        return .okay
    }
}

/// Checks the allocation test's responses as `takeResponses(with:)` hands them over.
private struct InOrderResponses: ResponseHandler {
    var next: UInt64
    var mismatches = 0

    func entries(answeredBy response: Response) -> Int { 1 }

    mutating func handle(_ response: Response) -> Bool {
        if response != Response(id: RequestID(next), operation: .write, status: .okay) { mismatches += 1 }
        next += 1
        return true
    }
}
