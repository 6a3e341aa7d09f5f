// The base of the BlkifABI tests: seeded random cases, and buffers that outlive every pointer into them.

import TestSupport
import BlkifABI
import XCTest

/// A test case that runs random cases from a seeded ``SplitMix64`` and hands out exact-size
/// buffers (``exactBytes(count:filledWith:)``) that stay allocated until the case or test ends,
/// so that no pointer a test takes into them can outlive them, however Swift shortens lifetimes.
///
/// The seed is ``PropertyTestConfiguration/seed`` (`BLKIF_FUZZ_SEED`); the number of cases is the
/// test's quick default or `BLKIF_FUZZ_ITERATIONS`. Every failure recorded while a case runs is
/// suffixed with the seed and the case number, so a failure can be replayed exactly; the run
/// stops at the first failing case so that one bug is reported once.
class ABITestCase: XCTestCase {
    /// The seed of the current test's generator.
    private(set) var seed: UInt64 = PropertyTestConfiguration.seed
    /// The case being run, for failure messages.
    private var currentCase: Int?
    /// Buffers handed out in the current case (or test), freed when it ends.
    private var buffers: [ExactBytes] = []

    /// Runs `body` for each case with the test's generator; stops after the first failing case.
    func forEachCase(quick: Int, _ body: (inout SplitMix64) throws -> Void) rethrows {
        seed = PropertyTestConfiguration.seed
        var random = SplitMix64(seed: seed)
        defer { currentCase = nil }
        for index in 0..<PropertyTestConfiguration.iterations(quick: quick) {
            currentCase = index
            let failuresBefore = testRun?.totalFailureCount ?? 0
            defer { buffers.removeAll() }
            try body(&random)
            if (testRun?.totalFailureCount ?? 0) > failuresBefore { return }
        }
    }

    override func tearDown() {
        buffers.removeAll()
        super.tearDown()
    }

    /// `count` bytes, each `filler`, alive until the case (or test) ends.
    func exactBytes(count: Int, filledWith filler: UInt8 = 0) -> ExactBytes {
        keep(ExactBytes(count: count, filledWith: filler))
    }

    /// `count` random bytes, alive until the case (or test) ends.
    func exactBytes(count: Int, randomFrom random: inout SplitMix64) -> ExactBytes {
        keep(ExactBytes(count: count, randomFrom: &random))
    }

    /// A copy of `count` bytes at `source`, alive until the case (or test) ends.
    func exactBytes(copying source: UnsafeRawPointer, count: Int) -> ExactBytes {
        keep(ExactBytes(copying: source, count: count))
    }

    /// The request held by `entries` entries at `run`, copied out as the ring copies it
    /// (``RingEntries/copyRequest(into:limits:)``) into exactly ``BlkifLayout/copySize(entries:)`` bytes;
    /// `entries` must be what the header says under `limits`.
    func requestCopy(
        of run: UnsafeMutableRawPointer, entries: Int, abi: ABI, limits: RequestLimits = RequestLimits(maximumSegments: ABI.maximumBlockSegments)
    ) -> ExactBytes {
        let copy = exactBytes(count: abi.layout.copySize(entries: entries), filledWith: 0xEE)
        let copied = RingEntries(contiguous: run, count: entries, abi: abi).copyRequest(into: copy.pointer, limits: limits)
        XCTAssertEqual(copied.bytes.count, copy.buffer.count, "copyRequest fills exactly copySize(entries:)")
        XCTAssertEqual(copied.entryCount, entries, "copyRequest counts the entries from its copy of the header")
        return copy
    }

    /// The segments of `request` copied out of the indirect `pages` into a private buffer of
    /// exactly ``IndirectTransfer/segmentBytes`` bytes, and validated there.
    func segments(of request: IndirectTransfer, inPages pages: UnsafeRawBufferPointer) throws -> SegmentList {
        try request.segments(copying: pages, into: exactBytes(count: request.segmentBytes, filledWith: 0xEE).buffer)
    }

    private func keep(_ bytes: ExactBytes) -> ExactBytes {
        buffers.append(bytes)
        return bytes
    }

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool) {
        let replay = currentCase.map { " [BLKIF_FUZZ_SEED=\(seed), case \($0)]" } ?? " [BLKIF_FUZZ_SEED=\(seed)]"
        super.recordFailure(withDescription: description + replay, inFile: filePath, atLine: lineNumber, expected: expected)
    }
}

/// Exactly `count` heap bytes, freed on deinit: any access past them is an address-sanitizer error.
/// Obtain them from ``ABITestCase/exactBytes(count:filledWith:)``, which keeps them alive.
final class ExactBytes {
    /// The bytes.
    let buffer: UnsafeMutableRawBufferPointer

    /// `count` bytes, each `filler`.
    init(count: Int, filledWith filler: UInt8 = 0) {
        buffer = .allocate(byteCount: count, alignment: 8)
        buffer.initializeMemory(as: UInt8.self, repeating: filler)
    }

    /// `count` bytes of random data.
    convenience init(count: Int, randomFrom random: inout SplitMix64) {
        self.init(count: count)
        for index in buffer.indices { buffer[index] = UInt8(truncatingIfNeeded: random.next()) }
    }

    /// A copy of the first `count` bytes at `source`.
    convenience init(copying source: UnsafeRawPointer, count: Int) {
        self.init(count: count)
        buffer.baseAddress.unsafelyUnwrapped.copyMemory(from: source, byteCount: count)
    }

    deinit { buffer.deallocate() }

    /// Address of the first byte.
    var pointer: UnsafeMutableRawPointer { buffer.baseAddress.unsafelyUnwrapped }
    /// The bytes, read-only.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(buffer) }
    /// The bytes as an array.
    var array: [UInt8] { Array(buffer) }
}
