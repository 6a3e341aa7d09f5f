// The workloads: what request i carries, defined exactly so any implementation can reproduce it.

import BlkifABI

/// The workloads ringbench runs. For every workload request `i` (from 0) has id `i`, handle 0
/// and sector_number `8·i`; segment `j` has gref `i + j`, first_sect 0, last_sect 7.
///
/// - `1seg`, `11seg`: operation `i & 1` (read/write), 1 or 11 segments (one ring entry).
/// - `64seg`: operation `i & 1`, 64 segments, 11 in the request and the rest in segment blocks in
///   the following ring entries (5 entries on x86_64, 6 on x86_32).
/// - `discard`: BLKIF_OP_DISCARD of 8 sectors, flag 0.
/// - `mixed`: operation `i & 1`, `1 + (i mod 11)` segments.
enum WorkloadKind: String, CaseIterable, Sendable {
    case oneSegment = "1seg"
    case elevenSegments = "11seg"
    case segmentBlocks = "64seg"
    case discard
    case mixed

    /// Segments of the workload's largest request (0 for a discard).
    var largestSegmentCount: Int {
        switch self {
        case .oneSegment: 1
        case .elevenSegments, .mixed: 11
        case .segmentBlocks: 64
        case .discard: 0
        }
    }

    /// The C reference's number for this workload (`enum ringref_workload`).
    var referenceCode: UInt64 {
        switch self {
        case .oneSegment: 0
        case .elevenSegments: 1
        case .segmentBlocks: 2
        case .discard: 3
        case .mixed: 4
        }
    }
}

/// One workload as static, inlinable functions, so the hot loops specialise over it (no
/// existentials, no closures).
protocol WorkloadShape: SendableMetatype {
    /// Segments of request `i` (0 for a discard).
    static func segments(_ i: Int) -> Int
    /// Operation of request `i`.
    static func operation(_ i: Int) -> Operation
}

extension WorkloadShape {
    /// Ring entries request `i` occupies in `abi`.
    @inline(__always)
    static func entries(_ i: Int, abi: ABI) -> Int { abi.entriesForSegments(segments(i)) }

    /// Writes request `i` in place into the entries reserved for it.
    @inline(__always)
    static func write(_ i: Int, into run: RingEntries) {
        let id = RequestID(UInt64(truncatingIfNeeded: i))
        let sector = Sector(UInt64(truncatingIfNeeded: i) &* 8)
        if operation(i) == .discard {
            DiscardRequestView(run.entry(0), abi: run.abi)
                .write(flags: [], handle: DeviceHandle(0), id: id, sector: sector, sectorCount: 8)
        } else {
            run.writeRequest(
                operation: operation(i), handle: DeviceHandle(0), id: id, sector: sector,
                segments: WorkloadSegments(request: i, count: segments(i)))
        }
    }

    /// Whether the decoded request is exactly request `i`.
    @inline(__always)
    static func matches(_ request: BlkifRequest, _ i: Int) -> Bool {
        let id = RequestID(UInt64(truncatingIfNeeded: i))
        let sector = Sector(UInt64(truncatingIfNeeded: i) &* 8)
        switch request {
        case .discard(let discard):
            return operation(i) == .discard && discard.id == id && discard.sector == sector && discard.sectorCount == 8
        case .read(let transfer):
            return operation(i) == .read && matches(transfer, i, id: id, sector: sector)
        case .write(let transfer):
            return operation(i) == .write && matches(transfer, i, id: id, sector: sector)
        default:
            return false
        }
    }

    /// Whether a read or write carries request `i`'s id, sector and segments.
    @inline(__always)
    static func matches(_ transfer: Transfer, _ i: Int, id: RequestID, sector: Sector) -> Bool {
        let count = segments(i)
        guard transfer.id == id, transfer.sector == sector, transfer.segments.count == count else { return false }
        // One pass over the decoded segments, as the C reference's check does (fully unrolled
        // where the workload's count is a constant).
        for j in 0..<count {
            guard transfer.segments[j] == workloadSegment(request: i, j) else { return false }
        }
        return true
    }
}

/// The segments of request `i` as a collection computed on the fly (no storage, no closure).
struct WorkloadSegments: RandomAccessCollection {
    /// The request's number.
    let request: Int
    /// Segments in the request.
    let count: Int

    @inlinable var startIndex: Int { 0 }
    @inlinable var endIndex: Int { count }

    @inlinable
    subscript(j: Int) -> Segment { workloadSegment(request: request, j) }

    /// The next position, unchecked as Array's (the default checks it against the bounds on
    /// every step of the writer's loop).
    @inlinable func index(after j: Int) -> Int { j &+ 1 }

    /// The previous position, unchecked as Array's.
    @inlinable func index(before j: Int) -> Int { j &- 1 }
}

/// Segment `j` of request `i` in every workload: gref `i + j`, sectors 0...7.
@inline(__always)
func workloadSegment(request i: Int, _ j: Int) -> Segment {
    Segment(grant: GrantRef(UInt32(truncatingIfNeeded: i &+ j)), firstSector: 0, lastSector: 7)
}

/// `1seg`: one segment, read/write alternating.
enum OneSegment: WorkloadShape {
    @inline(__always) static func segments(_ i: Int) -> Int { 1 }
    @inline(__always) static func operation(_ i: Int) -> Operation { Operation(rawValue: UInt8(i & 1)) }
}

/// `11seg`: a full header entry.
enum ElevenSegments: WorkloadShape {
    @inline(__always) static func segments(_ i: Int) -> Int { 11 }
    @inline(__always) static func operation(_ i: Int) -> Operation { Operation(rawValue: UInt8(i & 1)) }
}

/// `64seg`: a header entry and segment blocks.
enum SegmentBlocks: WorkloadShape {
    @inline(__always) static func segments(_ i: Int) -> Int { 64 }
    @inline(__always) static func operation(_ i: Int) -> Operation { Operation(rawValue: UInt8(i & 1)) }
}

/// `discard`: 8 sectors at `8·i`.
enum DiscardWorkload: WorkloadShape {
    @inline(__always) static func segments(_ i: Int) -> Int { 0 }
    @inline(__always) static func operation(_ i: Int) -> Operation { .discard }
}

/// `mixed`: operation `i & 1`, `1 + (i mod 11)` segments.
enum MixedWorkload: WorkloadShape {
    @inline(__always) static func segments(_ i: Int) -> Int { 1 + Int(UInt(bitPattern: i) % 11) }
    @inline(__always) static func operation(_ i: Int) -> Operation { Operation(rawValue: UInt8(i & 1)) }
}

/// The ABI of a run as a type, so the hot loops see a constant layout.
protocol ABIChoice: SendableMetatype {
    /// The ABI.
    static var abi: ABI { get }
}

/// The host's ABI.
enum NativeABI: ABIChoice { @inline(__always) static var abi: ABI { .native } }
/// The x86_32 ABI.
enum X86_32ABI: ABIChoice { @inline(__always) static var abi: ABI { .x86_32 } }
/// The x86_64 ABI.
enum X86_64ABI: ABIChoice { @inline(__always) static var abi: ABI { .x86_64 } }
