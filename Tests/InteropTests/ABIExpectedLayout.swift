// What our code says the C layout is, in the shape the C layout program prints.

import BlkifABI
import BlkifRing

/// Our layout of every blkif structure, as `name -> [offset, size]` (and
/// `ring_entries.N -> [count]`), named as `abi_layout layout` names the C fields.
///
/// Every number comes from the library (``BlkifLayout``, ``RingGeometry``, ``SharedRing``), never
/// from a literal, so the comparison with the C compiler checks the code the views run.
enum ABIExpectedLayout {
    /// The whole table for `abi`.
    static func table(for abi: ABI) throws -> [String: [Int]] {
        var table = structures(abi.layout)
        table.merge(try sharedRing(abi: abi)) { $1 }
        for pages in [1, 2, 4, 8, 16] {
            table["ring_entries.\(pages)"] = [try RingGeometry(pageCount: pages, abi: abi).entryCount]
        }
        return table
    }

    /// The requests, the segment and the response.
    static func structures(_ layout: BlkifLayout) -> [String: [Int]] {
        typealias L = BlkifLayout
        let byte = L.operationOffset, second = L.secondByteOffset, handle = L.handleOffset
        return [
            "segment.gref": [0, 4], "segment.first_sect": [L.segmentFirstSector, 1],
            "segment.last_sect": [L.segmentLastSector, 1], "segment": [0, L.segmentSize],
            "request.operation": [byte, 1], "request.nr_segments": [second, 1], "request.handle": [handle, 2],
            "request.id": [layout.requestID, 8], "request.sector_number": [layout.requestSector, 8],
            "request.seg": [layout.requestSegments, ABI.segmentsPerHeader * L.segmentSize], "request": [0, layout.requestSize],
            "discard.operation": [byte, 1], "discard.flag": [second, 1], "discard.handle": [handle, 2],
            "discard.id": [layout.requestID, 8], "discard.sector_number": [layout.requestSector, 8],
            "discard.nr_sectors": [layout.discardSectorCount, 8], "discard": [0, layout.discardSize],
            "indirect.operation": [byte, 1], "indirect.indirect_op": [second, 1], "indirect.nr_segments": [handle, 2],
            "indirect.id": [layout.indirectID, 8], "indirect.sector_number": [layout.indirectSector, 8],
            "indirect.handle": [layout.indirectHandle, 2],
            "indirect.indirect_grefs": [layout.indirectGrants, 4 * IndirectRequestView.grantCapacity],
            "indirect": [0, layout.indirectSize],
            "response.id": [L.responseID, 8], "response.operation": [L.responseOperation, 1],
            "response.status": [L.responseStatus, 2], "response": [0, layout.responseSize],
            "entry": [0, layout.entrySize],
        ]
    }

    /// The shared ring header, measured through ``SharedRing``'s own index pointers.
    static func sharedRing(abi: ABI) throws -> [String: [Int]] {
        let geometry = try RingGeometry(pageCount: 1, abi: abi)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: geometry.byteCount, alignment: RingGeometry.pageSize)
        defer { memory.deallocate() }
        let ring = SharedRing(memory, geometry: geometry)
        func offset(_ pointer: UnsafeMutableRawPointer) -> Int { pointer - memory }
        let index = MemoryLayout<RingIndex>.size
        return [
            "sring.req_prod": [offset(UnsafeMutableRawPointer(ring.requestProducer)), index],
            "sring.req_event": [offset(UnsafeMutableRawPointer(ring.requestEvent)), index],
            "sring.rsp_prod": [offset(UnsafeMutableRawPointer(ring.responseProducer)), index],
            "sring.rsp_event": [offset(UnsafeMutableRawPointer(ring.responseEvent)), index],
            "sring.ring": [offset(ring.entries), abi.layout.entrySize],
        ]
    }
}
