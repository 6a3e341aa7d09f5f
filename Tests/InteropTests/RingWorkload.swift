// The deterministic workload both ends of an interop run derive from the request number.

import BlkifABI
import BlkifRing

/// A field that arrived with another value than the workload says: the first mismatch ends a run.
struct RingMismatch: Error, CustomStringConvertible {
    /// Which request or response, which field, what arrived and what was expected.
    let description: String
}

/// Request number `index` of the workload, and the response it gets; the C peer's `expect()`
/// computes the same values.
///
/// The operations cycle through read, write, barrier, flush, discard, a multi-entry read or
/// write of 12...255 segments (segment blocks), and an indirect read or write of 1...256
/// segments naming 8 indirect pages. Segment `j` names grant `index + j`, sectors `j % 8 ... 7`;
/// indirect page `k` grant `index + 100 + k`. Responses echo id and operation (an indirect
/// request's `indirect_op`, as Linux's blkfront checks) with a status derived from `index`.
struct WorkloadRequest {
    let index: UInt64
    let operation: Operation
    let segmentCount: Int
    let handle: DeviceHandle
    let id: RequestID
    let sector: Sector
    let discardSectors: UInt64
    let discardFlags: DiscardFlags
    let status: Status
    /// The read or write an indirect request carries; `nil` for every other operation.
    let indirectOperation: Operation?

    /// Most segments of the workload's indirect requests: what the back must negotiate.
    static let indirectSegments = 256

    init(_ index: UInt64) {
        self.index = index
        id = RequestID(index &* 0x9E37_79B9_7F4A_7C15)  // odd multiplier: every id distinct
        sector = Sector(8 &* index)
        handle = DeviceHandle(UInt16(truncatingIfNeeded: index &* 31))
        discardSectors = index + 1
        discardFlags = DiscardFlags(rawValue: UInt8(index & 1))
        switch index % 3 {
        case 0: status = .okay
        case 1: status = .error
        default: status = .notSupported
        }
        indirectOperation = index % 7 == 6 ? ((index / 7) % 2 == 1 ? .write : .read) : nil
        switch index % 7 {
        case 0: (operation, segmentCount) = (.read, 1 + Int(index % 11))
        case 1: (operation, segmentCount) = (.write, 1 + Int(index % 11))
        case 2: (operation, segmentCount) = (.writeBarrier, Int(index % 12))
        case 3: (operation, segmentCount) = (.flushDiskCache, Int(index % 12))
        case 4: (operation, segmentCount) = (.discard, 0)
        case 5: (operation, segmentCount) = ((index / 7) % 2 == 1 ? .write : .read, 12 + Int((index &* 7) % 244))
        default: (operation, segmentCount) = (.indirect, 1 + Int((index &* 13) % UInt64(Self.indirectSegments)))
        }
    }

    /// The operation the response must carry: the request's, or an indirect request's inner one.
    var responseOperation: Operation { indirectOperation ?? operation }

    /// Grant of indirect page `k`.
    func indirectPage(_ k: Int) -> GrantRef { GrantRef(UInt32(truncatingIfNeeded: index &+ 100 &+ UInt64(k))) }

    /// Ring entries the request (and its response) occupies in `abi`.
    func entries(abi: ABI) -> Int {
        operation == .discard || operation == .indirect ? 1 : abi.entriesForSegments(segmentCount)
    }

    /// Segment `j`.
    func segment(_ j: Int) -> Segment {
        Segment(grant: GrantRef(UInt32(truncatingIfNeeded: index &+ UInt64(j))), firstSector: UInt8(j % 8), lastSector: 7)
    }

    /// Writes the request in place into the run the front reserved for it.
    func write(into run: RingEntries) {
        if operation == .discard {
            DiscardRequestView(run.entry(0), abi: run.abi)
                .write(flags: discardFlags, handle: handle, id: id, sector: sector, sectorCount: discardSectors)
            return
        }
        if let indirectOperation {
            IndirectRequestView(run.entry(0), abi: run.abi).write(
                indirectOperation: indirectOperation, segmentCount: UInt16(segmentCount), handle: handle, id: id, sector: sector,
                grants: (0..<IndirectRequestView.grantCapacity).map(indirectPage))
            return
        }
        run.request.writeHeader(operation: operation, segmentCount: UInt8(segmentCount), handle: handle, id: id, sector: sector)
        for j in 0..<segmentCount {
            run.setSegment(j, to: segment(j))
        }
    }

    /// Checks every field of the request as the back decoded it.
    func check(_ request: BlkifRequest) throws(RingMismatch) {
        try expect("operation", request.operation, responseOperation)
        switch request {
        case .read(let transfer), .write(let transfer), .writeBarrier(let transfer), .flushDiskCache(let transfer):
            try expect("id", transfer.id, id)
            try expect("handle", transfer.handle.rawValue, handle.rawValue)
            try expect("sector", transfer.sector, sector)
            try expect("nr_segments", transfer.segments.count, segmentCount)
            for (j, segment) in transfer.segments.enumerated() where segment != self.segment(j) {
                throw mismatch("segment \(j)", segment, self.segment(j))
            }
        case .discard(let discard):
            try expect("id", discard.id, id)
            try expect("handle", discard.handle.rawValue, handle.rawValue)
            try expect("sector", discard.sector, sector)
            try expect("nr_sectors", discard.sectorCount, discardSectors)
            try expect("flag", discard.flags, discardFlags)
        case .indirect(let indirect):
            guard operation == .indirect else { throw mismatch("operation", "indirect", operation) }
            try expect("id", indirect.id, id)
            try expect("handle", indirect.handle.rawValue, handle.rawValue)
            try expect("sector", indirect.sector, sector)
            try expect("nr_segments", indirect.segmentCount, segmentCount)
            for k in 0..<IndirectRequestView.grantCapacity where indirect.pageGrants[k] != indirectPage(k) {
                throw mismatch("indirect_grefs[\(k)]", indirect.pageGrants[k], indirectPage(k))
            }
        }
    }

    /// Checks the response the front took for this request.
    func check(_ response: Response) throws(RingMismatch) {
        try expect("response id", response.id, id)
        try expect("response operation", response.operation, responseOperation)
        try expect("response status", response.status, status)
    }

    private func expect<T: Equatable>(_ field: String, _ got: T, _ wanted: T) throws(RingMismatch) {
        if got != wanted { throw mismatch(field, got, wanted) }
    }

    private func mismatch(_ field: String, _ got: Any, _ wanted: Any) -> RingMismatch {
        RingMismatch(description: "request \(index): \(field) is \(got), expected \(wanted)")
    }
}
