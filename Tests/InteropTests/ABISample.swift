// One sample of every blkif structure, drawn from a seed exactly as C/abi_layout.c draws it.

import BlkifABI
import TestSupport

/// Values for a request, a discard, an indirect request with its indirect page, and a response,
/// drawn from SplitMix64 in the order `fill_sample` in `abi_layout.c` draws them, so that a seed
/// names the same sample in Swift and in C.
///
/// Invariant: every value is valid (segments `first <= last < 8`, 1...11 header segments,
/// 1...512 indirect segments, sector ranges far from 2^64), so the sample decodes.
struct ABISample {
    /// The read or write request (`struct blkif_request`).
    var request: (operation: Operation, handle: DeviceHandle, id: RequestID, sector: Sector, segments: [Segment])
    /// The discard (`struct blkif_request_discard`).
    var discard: (flags: DiscardFlags, handle: DeviceHandle, id: RequestID, sector: Sector, sectorCount: UInt64)
    /// The indirect request (`struct blkif_request_indirect`) and the segments of its first page.
    var indirect: (operation: Operation, handle: DeviceHandle, id: RequestID, sector: Sector, grants: [GrantRef], segments: [Segment])
    /// The response (`struct blkif_response`).
    var response: Response

    /// The sample `fill_sample(file, seed)` writes.
    init(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let operation = Operation(rawValue: UInt8(random.next(below: 2)))
        let segmentCount = 1 + Int(random.next(below: UInt64(ABI.segmentsPerHeader)))
        request = (
            operation, DeviceHandle(UInt16(truncatingIfNeeded: random.next())), RequestID(random.next()),
            Sector(random.next() >> 24), [])
        request.segments = (0..<segmentCount).map { _ in Self.segment(&random) }
        discard = (
            DiscardFlags(rawValue: UInt8(random.next(below: 2))), DeviceHandle(UInt16(truncatingIfNeeded: random.next())),
            RequestID(random.next()), Sector(random.next() >> 24), (random.next() >> 32) + 1)
        let indirectOperation = Operation(rawValue: UInt8(random.next(below: 2)))
        let indirectCount = 1 + Int(random.next(below: UInt64(IndirectRequestView.segmentsPerPage)))
        let indirectID = RequestID(random.next())
        let indirectSector = Sector(random.next() >> 24)
        let indirectHandle = DeviceHandle(UInt16(truncatingIfNeeded: random.next()))
        indirect = (indirectOperation, indirectHandle, indirectID, indirectSector, [], [])
        indirect.grants = (0..<IndirectRequestView.grantCapacity).map { _ in GrantRef(UInt32(truncatingIfNeeded: random.next())) }
        indirect.segments = (0..<indirectCount).map { _ in Self.segment(&random) }
        response = Response(
            id: RequestID(random.next()), operation: Operation(rawValue: UInt8(random.next(below: 7))),
            status: Status(rawValue: -Int16(random.next(below: 3))))
    }

    /// A valid segment, as `sample_segment` draws it.
    static func segment(_ random: inout SplitMix64) -> Segment {
        let grant = GrantRef(UInt32(truncatingIfNeeded: random.next()))
        let first = UInt8(random.next(below: 8))
        let last = first + UInt8(random.next(below: UInt64(8 - first)))
        return Segment(grant: grant, firstSector: first, lastSector: last)
    }

    /// Every field as `abi_layout read` prints it: `name -> decimal value`.
    var fields: [String: String] {
        var fields: [String: String] = [
            "request.operation": "\(request.operation.rawValue)", "request.nr_segments": "\(request.segments.count)",
            "request.handle": "\(request.handle.rawValue)", "request.id": "\(request.id.rawValue)",
            "request.sector_number": "\(request.sector.rawValue)",
            "discard.operation": "\(Operation.discard.rawValue)", "discard.flag": "\(discard.flags.rawValue)",
            "discard.handle": "\(discard.handle.rawValue)", "discard.id": "\(discard.id.rawValue)",
            "discard.sector_number": "\(discard.sector.rawValue)", "discard.nr_sectors": "\(discard.sectorCount)",
            "indirect.operation": "\(Operation.indirect.rawValue)", "indirect.indirect_op": "\(indirect.operation.rawValue)",
            "indirect.nr_segments": "\(indirect.segments.count)", "indirect.id": "\(indirect.id.rawValue)",
            "indirect.sector_number": "\(indirect.sector.rawValue)", "indirect.handle": "\(indirect.handle.rawValue)",
            "response.id": "\(response.id.rawValue)", "response.operation": "\(response.operation.rawValue)",
            "response.status": "\(response.status.rawValue)",
        ]
        for (index, grant) in indirect.grants.enumerated() {
            fields["indirect.indirect_grefs.\(index)"] = "\(grant.rawValue)"
        }
        Self.addSegments(request.segments, prefix: "request.seg", to: &fields)
        Self.addSegments(indirect.segments, prefix: "page.seg", to: &fields)
        return fields
    }

    /// Adds `prefix.i.gref`, `prefix.i.first_sect` and `prefix.i.last_sect` for every segment.
    static func addSegments(_ segments: some Sequence<Segment>, prefix: String, to fields: inout [String: String]) {
        for (index, segment) in segments.enumerated() {
            fields["\(prefix).\(index).gref"] = "\(segment.grant.rawValue)"
            fields["\(prefix).\(index).first_sect"] = "\(segment.firstSector)"
            fields["\(prefix).\(index).last_sect"] = "\(segment.lastSector)"
        }
    }
}
