// Writers fill every byte their structure covers, padding included, and nothing beyond it.

import BlkifABI
import TestSupport
import XCTest

/// A slot pre-filled with 0xAA shows every byte a writer leaves stale: stale padding in a
/// response leaks the backend's memory to the frontend (XSA-216).
final class WriteCoverageTests: ABITestCase {
    func testResponseWriteFillsEveryByteOfItsSlotIncludingPaddingInEveryABI() {
        forEachCase(quick: 500) { random in
            let abi = random.abi()
            let layout = abi.layout
            let slot = exactBytes(count: layout.entrySize, filledWith: 0xAA)
            let (id, operation) = (random.next(), UInt8(truncatingIfNeeded: random.next()))
            let status = Int16(truncatingIfNeeded: random.next())
            ResponseView(slot.pointer, abi: abi).write(id: RequestID(id), operation: Operation(rawValue: operation), status: Status(rawValue: status))

            var expected = withUnsafeBytes(of: id.littleEndian, Array.init) + [operation, 0]
            expected += withUnsafeBytes(of: status.littleEndian, Array.init)
            expected += Array(repeating: 0, count: layout.responseSize - expected.count)
            expected += Array(repeating: 0xAA, count: layout.entrySize - layout.responseSize)
            XCTAssertEqual(slot.array, expected, "\(abi): the response's bytes, then the rest of the slot untouched")
        }
    }

    func testX86_64ResponsePaddingAtByte9AndBytes12To15IsZeroed() {
        let slot = exactBytes(count: ABI.x86_64.layout.entrySize, filledWith: 0xAA)
        ResponseView(slot.pointer, abi: .x86_64).write(id: RequestID(.max), operation: Operation(rawValue: 0xff), status: Status(rawValue: -1))
        XCTAssertEqual([9, 12, 13, 14, 15].map { slot.buffer[$0] }, [0, 0, 0, 0, 0])
        XCTAssertEqual(Array(slot.array[0..<16]), Array(repeating: 0xff, count: 9) + [0, 0xff, 0xff, 0, 0, 0, 0])
    }

    func testEveryRequestWriterFillsItsWholeStructureWhateverWasThereBefore() {
        forEachCase(quick: 300) { random in
            let abi = random.abi()
            let layout = abi.layout
            let (id, handle, sector) = random.header()
            let segments = (0..<ABI.segmentsPerHeader).map { _ in random.segment() }
            let count = random.next()
            let writers: [(name: String, size: Int, write: (UnsafeMutableRawPointer) -> Void)] = [
                ("request", layout.requestSize, { memory in
                    RingEntries(contiguous: memory, count: 1, abi: abi).writeRequest(
                        operation: .write, handle: handle, id: id, sector: sector, segments: segments)
                }),
                ("discard", layout.discardSize, { memory in
                    DiscardRequestView(memory, abi: abi).write(flags: .secure, handle: handle, id: id, sector: sector, sectorCount: count)
                }),
                ("indirect", layout.indirectSize, { memory in
                    IndirectRequestView(memory, abi: abi).write(
                        indirectOperation: .read, segmentCount: 9, handle: handle, id: id, sector: sector, grants: [GrantRef(3)])
                }),
            ]
            for writer in writers {
                let (first, second) = (exactBytes(count: layout.entrySize, filledWith: 0xAA), exactBytes(count: layout.entrySize, filledWith: 0x55))
                writer.write(first.pointer)
                writer.write(second.pointer)
                XCTAssertEqual(first.array[..<writer.size], second.array[..<writer.size], "\(abi) \(writer.name): a byte kept its old value")
                XCTAssertEqual(Set(first.array[writer.size...]), writer.size == layout.entrySize ? [] : [0xAA], "\(abi) \(writer.name) wrote past its end")
            }
        }
    }
}
