// Ring memory for the ring targets, and the hostile peer's writes into it.

import BlkifABI
import BlkifRing

/// Ring memory of one geometry, page-aligned and exactly the ring's size, so a read past the
/// last entry is an address-sanitizer error.
final class FuzzRing {
    /// The memory: header and entries.
    let base: UnsafeMutableRawPointer
    /// Pages, ABI and entry count.
    let geometry: RingGeometry

    /// A ring whose shape (1, 2 or 4 pages; any ABI) the input picks.
    convenience init(_ input: inout FuzzInput) {
        self.init(pages: 1 << input.int(in: 0...2), abi: input.abi())
    }

    /// A zeroed ring of `pages` pages (1, 2 or 4) in `abi`.
    init(pages: Int, abi: ABI) {
        geometry = try! RingGeometry(pageCount: pages, abi: abi)  // safe: the callers pass 1, 2 or 4
        base = .allocate(byteCount: geometry.byteCount, alignment: RingGeometry.pageSize)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: geometry.byteCount)
    }

    deinit { base.deallocate() }

    /// A first index for the ring: half the time just below 2^32, so the run crosses the wrap,
    /// else anywhere.
    static func start(_ input: inout FuzzInput) -> RingIndex {
        input.bool() ? RingIndex(UInt32.max - UInt32(input.byte())) : RingIndex(input.uint32())
    }
}

/// What a hostile peer writes between our calls, read from the input.
extension SharedRing {
    /// Overwrites the start of the slot of a random index with the input's next bytes (up to a
    /// whole entry); half the time only the first bytes, so headers claiming segment blocks
    /// (operation and `nr_segments`) are cheap for the fuzzer to find.
    func scribble(_ input: inout FuzzInput) {
        let slot = entries(from: RingIndex(input.uint32()), count: 1).entry(0)
        let length = input.bool() ? input.int(in: 0...8) : geometry.abi.layout.entrySize
        let bytes = input.take(length)
        UnsafeMutableRawBufferPointer(start: slot, count: bytes.count).copyMemory(from: bytes)
    }

    /// An index the peer publishes: `near` moved by -8...+entryCount+8, or anything at all.
    func hostileIndex(near: RingIndex, _ input: inout FuzzInput) -> RingIndex {
        if input.byte() % 8 == 0 { return RingIndex(input.uint32()) }
        return near.advanced(by: UInt32(truncatingIfNeeded: input.int(in: -8...geometry.entryCount + 8)))
    }
}
