// A run of consecutive ring entries that may wrap around the end of the ring.

import CBlkifSystem

/// Consecutive ring entries holding one request, in place: a header entry and the segment
/// blocks that follow it.
///
/// On a shared ring, entry `i` lives in slot `(first + i) & mask`, so a run can wrap from the
/// last slot to slot 0; a private copy is the same run laid out contiguously
/// (``init(contiguous:count:abi:)``). Every access is bounds-checked against ``count``, so a
/// write never leaves the run. Invariant: `ring` addresses `mask + 1` entries (or, contiguous,
/// `count` entries).
@frozen
public struct RingEntries {
    @usableFromInline let ring: UnsafeMutableRawPointer
    @usableFromInline let first: UInt32
    @usableFromInline let mask: UInt32
    /// Entries in the run.
    public let count: Int
    /// The ABI fixing the entry size and the segment layout.
    public let abi: ABI

    /// The run of `count` entries starting at free-running index `first` of a ring whose
    /// slot 0 is at `ring` and whose entry count is `mask + 1` (a power of two).
    @inlinable
    public init(ring: UnsafeMutableRawPointer, mask: UInt32, first: UInt32, count: Int, abi: ABI) {
        precondition(count >= 0 && count <= Int(mask) + 1, "a run cannot hold more entries than the ring")
        self.ring = ring
        self.first = first
        self.mask = mask
        self.count = count
        self.abi = abi
    }

    /// `count` entries laid out back to back at `base` (a private copy).
    @inlinable
    public init(contiguous base: UnsafeMutableRawPointer, count: Int, abi: ABI) {
        self.init(ring: base, mask: UInt32.max, first: 0, count: count, abi: abi)
    }

    /// Address of entry `index` of the run; traps outside `0..<count`.
    @inlinable
    public func entry(_ index: Int) -> UnsafeMutableRawPointer {
        precondition(index >= 0 && index < count, "ring entry index out of range")
        let slot = (first &+ UInt32(truncatingIfNeeded: index)) & mask  // expected to wrap
        return ring + Int(slot) * abi.layout.entrySize
    }

    /// The request header in the first entry.
    @inlinable public var request: RequestView { RequestView(entry(0), abi: abi) }

    /// The response in the first entry (a response to a k-entry request occupies k entries,
    /// only the first holding data).
    @inlinable public var response: ResponseView { ResponseView(entry(0), abi: abi) }

    /// Copies the request that starts this run out of the ring into the private buffer
    /// `destination`, each byte read once: the header entry whole, then, for the entries that
    /// this copy of the header says the request occupies
    /// (``BlkifRequest/entryCount(ofHeader:abi:limits:)``), the segments of every segment block
    /// back to back. This is the layout ``BlkifRequest/decode(_:abi:limits:)`` reads.
    ///
    /// The entry count comes from the copy, never from a second read of the ring, so a peer
    /// rewriting `nr_segments` meanwhile cannot make the count and the decoded request disagree.
    /// - Parameters:
    ///   - destination: private memory of at least ``BlkifLayout/copySize(entries:)`` bytes for
    ///     `count` entries (the run's length bounds what is copied).
    ///   - limits: the connection's limits, which decide how many entries a request may span.
    /// - Returns: the copied bytes, and the entries the request occupies by its header. When
    ///   that is more than the run holds, only the run is copied and decoding the copy reports
    ///   ``RequestError/Reason/truncated(needed:available:)``.
    @inlinable
    public func copyRequest(into destination: UnsafeMutableRawPointer, limits: RequestLimits) -> (bytes: UnsafeRawBufferPointer, entryCount: Int) {
        let layout = abi.layout
        destination.copyMemory(from: entry(0), byteCount: layout.entrySize)
        cblkif_compiler_barrier()  // the count below reads the copy, never the slot again
        let entries = BlkifRequest.entryCount(ofHeader: destination, abi: abi, limits: limits)
        let copied = min(entries, count)
        RingEntries(ring: ring, mask: mask, first: first, count: copied, abi: abi)
            .copySegmentBlocks(to: destination + layout.entrySize, blockBytes: layout.segmentsPerBlock * BlkifLayout.segmentSize)
        return (UnsafeRawBufferPointer(start: destination, count: layout.copySize(entries: copied)), entries)
    }

    /// Copies the first `blockBytes` of every entry after the first (the segments of each
    /// segment block) to `destination`, back to back. `blockBytes` is the layout's
    /// ``BlkifLayout/segmentsPerBlock`` × 8; a caller passing it as a literal gets inline vector
    /// moves instead of calls to memmove.
    @inlinable @inline(__always)
    public func copySegmentBlocks(to destination: UnsafeMutableRawPointer, blockBytes: Int) {
        guard count > 1 else { return }
        var target = destination
        for index in 1..<count {
            target.copyMemory(from: entry(index), byteCount: blockBytes)
            target += blockBytes
        }
    }

    /// Writes segment `index` of the request, in the header for `index < 11`, else in the
    /// segment block that holds it; traps if that entry is outside the run.
    @inlinable
    public func setSegment(_ index: Int, to segment: Segment) {
        if index < ABI.segmentsPerHeader {
            request.setSegment(index, to: segment)
        } else {
            let (block, slot) = (index - ABI.segmentsPerHeader).quotientAndRemainder(dividingBy: abi.layout.segmentsPerBlock)
            SegmentBlockView(entry(block + 1), abi: abi).setSegment(slot, to: segment)
        }
    }

    /// Writes a whole read, write, barrier or flush request: the header (padding included) and
    /// every segment, across as many segment blocks as `segments.count` needs.
    ///
    /// Traps if the run is shorter than ``ABI/entriesForSegments(_:)`` or there are more than 255
    /// segments: both are the caller's bugs, not the peer's.
    @inlinable @inline(__always)
    public func writeRequest(
        operation: Operation, handle: DeviceHandle, id: RequestID, sector: Sector, segments: some Collection<Segment>
    ) {
        // One branch on the ABI, then a body in which every offset is a constant.
        if abi.resolved == .x86_32 {
            RingEntries(ring: ring, mask: mask, first: first, count: count, abi: .x86_32)
                .writeRequestBody(operation: operation, handle: handle, id: id, sector: sector, segments: segments)
        } else {
            RingEntries(ring: ring, mask: mask, first: first, count: count, abi: .x86_64)
                .writeRequestBody(operation: operation, handle: handle, id: id, sector: sector, segments: segments)
        }
    }

    /// ``writeRequest(operation:handle:id:sector:segments:)`` once the ABI is a constant.
    @inlinable @inline(__always)
    func writeRequestBody(
        operation: Operation, handle: DeviceHandle, id: RequestID, sector: Sector, segments: some Collection<Segment>
    ) {
        let segmentCount = segments.count
        precondition(segmentCount <= ABI.maximumBlockSegments, "nr_segments is a byte: at most 255 segments")
        precondition(count >= abi.entriesForSegments(segmentCount), "the run is too short for its segment blocks")
        let header = request
        header.writeHeader(operation: operation, segmentCount: UInt8(segmentCount), handle: handle, id: id, sector: sector)
        // The header's segments: an odd count's first alone, then the rest two to a 16-byte store.
        let inHeader = min(segmentCount, ABI.segmentsPerHeader)
        let first = header.pointer + abi.layout.requestSegments
        var position = segments.startIndex
        var index = inHeader & 1
        if index != 0 {
            header.setSegment(0, to: segments[position])
            segments.formIndex(after: &position)
        }
        while index < inHeader {
            let even = segments[position]
            segments.formIndex(after: &position)
            let odd = segments[position]
            segments.formIndex(after: &position)
            // safe: index + 1 < 11, inside the header entry.
            (first + index &* BlkifLayout.segmentSize).storeBytes(
                of: SIMD2(even.packed.littleEndian, odd.packed.littleEndian), as: SIMD2<UInt64>.self)
            index &+= 2
        }
        if segmentCount > ABI.segmentsPerHeader {
            writeBlocks(segments, from: position, count: segmentCount - ABI.segmentsPerHeader)
        }
    }

    /// Fills segment blocks 1, 2, … in order with the `count` segments of `segments` from
    /// `start`: no division per segment.
    @inlinable
    func writeBlocks<Segments: Collection<Segment>>(_ segments: Segments, from start: Segments.Index, count: Int) {
        var position = start
        var left = count
        var entryIndex = 1
        while left > 0 {
            let block = SegmentBlockView(entry(entryIndex), abi: abi)
            let filled = min(left, block.capacity)
            for slot in 0..<filled {
                block.setSegment(slot, to: segments[position])
                segments.formIndex(after: &position)
            }
            left -= filled
            entryIndex += 1
        }
    }
}
