// The sample file exchanged with C/abi_layout.c, written and read with our views.

import BlkifABI
import Foundation
import TestSupport

/// The bytes of `abi_layout`'s sample file in one ABI: ring entries 0 to 3 hold a request, a
/// discard, an indirect request and a response; one 4096-byte indirect page follows.
///
/// Owns exactly ``byteCount(abi:)`` bytes, so an access past the file is an address-sanitizer error.
final class ABISampleFile {
    /// Entry holding each structure.
    enum Slot: Int { case request, discard, indirect, response }

    /// The ABI of the entries.
    let abi: ABI
    /// The file's bytes.
    let bytes: UnsafeMutableRawBufferPointer

    /// Bytes in the file: four entries and a page.
    static func byteCount(abi: ABI) -> Int { 4 * abi.layout.entrySize + RingGeometry.pageSize }

    /// A file whose every byte is `filler`, to show which bytes a writer leaves alone.
    init(abi: ABI, filledWith filler: UInt8 = 0xAA) {
        self.abi = abi
        bytes = .allocate(byteCount: Self.byteCount(abi: abi), alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: filler)
    }

    /// A copy of `contents`, which must be a whole sample file of `abi`.
    convenience init(abi: ABI, contents: Data) throws {
        self.init(abi: abi)
        guard contents.count == bytes.count else {
            throw CPeerError("the \(abi) sample file has \(contents.count) bytes, expected \(bytes.count)")
        }
        contents.withUnsafeBytes { bytes.copyMemory(from: $0) }
    }

    deinit { bytes.deallocate() }

    /// The file's contents.
    var data: Data { Data(bytes) }

    /// Address of the entry in `slot`.
    func entry(_ slot: Slot) -> UnsafeMutableRawPointer {
        bytes.baseAddress.unsafelyUnwrapped + slot.rawValue * abi.layout.entrySize
    }

    /// The entry in `slot` as a buffer of exactly one entry.
    func entryBytes(_ slot: Slot) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: entry(slot), count: abi.layout.entrySize)
    }

    /// The indirect page, as a buffer of exactly one page.
    var pageBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.baseAddress.unsafelyUnwrapped + 4 * abi.layout.entrySize, count: RingGeometry.pageSize)
    }

    /// The response in its slot, read with ``ResponseView``.
    var response: Response { ResponseView(entry(.response), abi: abi).copy() }

    /// Writes every structure of `sample` with our views.
    func write(_ sample: ABISample) {
        let request = sample.request
        RingEntries(contiguous: entry(.request), count: 1, abi: abi).writeRequest(
            operation: request.operation, handle: request.handle, id: request.id, sector: request.sector,
            segments: request.segments)
        let discard = sample.discard
        DiscardRequestView(entry(.discard), abi: abi).write(
            flags: discard.flags, handle: discard.handle, id: discard.id, sector: discard.sector, sectorCount: discard.sectorCount)
        let indirect = sample.indirect
        IndirectRequestView(entry(.indirect), abi: abi).write(
            indirectOperation: indirect.operation, segmentCount: UInt16(indirect.segments.count), handle: indirect.handle,
            id: indirect.id, sector: indirect.sector, grants: indirect.grants)
        let page = IndirectPageView(UnsafeMutableRawPointer(mutating: pageBytes.baseAddress.unsafelyUnwrapped))
        for (index, segment) in indirect.segments.enumerated() {
            page.setSegment(index, to: segment)
        }
        ResponseView(entry(.response), abi: abi).write(
            id: sample.response.id, operation: sample.response.operation, status: sample.response.status)
    }

    /// Every field read back with our views, named as ``ABISample/fields`` names them.
    var fieldsReadWithViews: [String: String] {
        let request = RequestView(entry(.request), abi: abi)
        let discard = DiscardRequestView(entry(.discard), abi: abi)
        let indirect = IndirectRequestView(entry(.indirect), abi: abi)
                var fields: [String: String] = [
            "request.operation": "\(request.operation.rawValue)", "request.nr_segments": "\(request.segmentCount)",
            "request.handle": "\(request.handle.rawValue)", "request.id": "\(request.id.rawValue)",
            "request.sector_number": "\(request.sector.rawValue)",
            "discard.operation": "\(RequestView(entry(.discard), abi: abi).operation.rawValue)",
            "discard.flag": "\(discard.flags.rawValue)", "discard.handle": "\(discard.handle.rawValue)",
            "discard.id": "\(discard.id.rawValue)", "discard.sector_number": "\(discard.sector.rawValue)",
            "discard.nr_sectors": "\(discard.sectorCount)",
            "indirect.operation": "\(RequestView(entry(.indirect), abi: abi).operation.rawValue)",
            "indirect.indirect_op": "\(indirect.indirectOperation.rawValue)", "indirect.nr_segments": "\(indirect.segmentCount)",
            "indirect.id": "\(indirect.id.rawValue)", "indirect.sector_number": "\(indirect.sector.rawValue)",
            "indirect.handle": "\(indirect.handle.rawValue)",
            "response.id": "\(response.id.rawValue)", "response.operation": "\(response.operation.rawValue)",
            "response.status": "\(response.status.rawValue)",
        ]
        for index in 0..<IndirectRequestView.grantCapacity {
            fields["indirect.indirect_grefs.\(index)"] = "\(indirect.grant(index).rawValue)"
        }
        let headerSegments = min(Int(request.segmentCount), ABI.segmentsPerHeader)
        ABISample.addSegments((0..<headerSegments).map(request.segment), prefix: "request.seg", to: &fields)
        let page = IndirectPageView(UnsafeMutableRawPointer(mutating: pageBytes.baseAddress.unsafelyUnwrapped))
        let pageSegments = min(Int(indirect.segmentCount), IndirectRequestView.segmentsPerPage)
        ABISample.addSegments((0..<pageSegments).map(page.segment), prefix: "page.seg", to: &fields)
        return fields
    }
}
