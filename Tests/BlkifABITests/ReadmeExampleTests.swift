import BlkifABI
import XCTest

/// The README's BlkifABI example, run for real in both ABIs.
final class ReadmeExampleTests: XCTestCase {
    func testTwentySegmentWriteRoundTripsThroughOneSegmentBlock() throws {
        for abi in [ABI.x86_64, .x86_32] {
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: 2 * abi.layout.entrySize, alignment: 16)
            defer { bytes.deallocate() }
            let entries = RingEntries(contiguous: bytes, count: abi.entriesForSegments(20), abi: abi)
            XCTAssertEqual(entries.count, 2, "\(abi)")
            entries.writeRequest(
                operation: .write, handle: DeviceHandle(0x300), id: RequestID(42), sector: Sector(2048),
                segments: (0..<20).map { Segment(grant: GrantRef(100 + UInt32($0))) })

            let copy = UnsafeMutableRawPointer.allocate(byteCount: abi.layout.copySize(entries: entries.count), alignment: 16)
            defer { copy.deallocate() }
            let limits = RequestLimits(maximumSegments: 255, capacity: Sector(1 << 21))
            let (raw, entryCount) = entries.copyRequest(into: copy, limits: limits)
            XCTAssertEqual(raw.count, abi.layout.copySize(entries: 2), "\(abi)")
            XCTAssertEqual(entryCount, 2, "\(abi)")
            guard case .write(let transfer) = try BlkifRequest.decode(raw, abi: abi, limits: limits) else {
                return XCTFail("\(abi): a write decoded as something else")
            }
            XCTAssertEqual(transfer.id, RequestID(42))
            XCTAssertEqual(transfer.handle, DeviceHandle(0x300))
            XCTAssertEqual(transfer.sector, Sector(2048))
            XCTAssertEqual(Array(transfer.segments), (0..<20).map { Segment(grant: GrantRef(100 + UInt32($0))) })
            XCTAssertEqual(transfer.segments.sectorCount, 160)

            ResponseView(bytes, abi: abi).write(id: RequestID(42), operation: .write, status: .okay)
            XCTAssertEqual(ResponseView(bytes, abi: abi).copy(), Response(id: RequestID(42), operation: .write, status: .okay))
        }
    }

    func testUnknownProtocolIsATypedErrorNamingIt() {
        XCTAssertThrowsError(try ABI(protocolName: "sparc-abi")) { error in
            XCTAssertEqual(error as? ABIError, .unknownProtocol("sparc-abi"))
            XCTAssertTrue("\(error)".contains("sparc-abi"))
        }
        XCTAssertEqual(try ABI(protocolName: nil), .native)
        XCTAssertEqual(try ABI(protocolName: "x86_32-abi").layout.entrySize, 108)
        XCTAssertEqual(try ABI(protocolName: "arm-abi"), .x86_64, "arm's blkif layout is x86_64's")
    }

    /// An ABI parses what it prints and every protocol name; nothing else.
    func testABIParsesItsDescriptionAndProtocolNames() {
        for abi in ABI.allCases { XCTAssertEqual(ABI(abi.description), abi) }
        XCTAssertEqual(ABI("x86_32-abi"), .x86_32)
        XCTAssertEqual(ABI("x86_64-abi"), .x86_64)
        XCTAssertEqual(ABI("arm-abi"), .x86_64)
        for junk in ["", "X86_64", "x86", "x86_64-abi ", "sparc-abi"] { XCTAssertNil(ABI(junk), junk) }
    }
}
