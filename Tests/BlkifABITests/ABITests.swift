// Choosing the ABI from the XenStore protocol node, and what each ABI's layout promises.

import BlkifABI
import XCTest

final class ABITests: XCTestCase {
    func testProtocolStringsParseToTheirABIs() throws {
        XCTAssertEqual(try ABI(protocolName: "x86_32-abi"), .x86_32)
        XCTAssertEqual(try ABI(protocolName: "x86_64-abi"), .x86_64)
    }

    func testAbsentProtocolNodeSelectsNativeWhichIsX86_64OnThisHost() throws {
        XCTAssertEqual(try ABI(protocolName: nil), .native)
        XCTAssertEqual(ABI.native.resolved, .x86_64)
        XCTAssertEqual(ABI.native.layout, BlkifLayout.x86_64)
    }

    func testEveryABIPrintsAProtocolStringThatParsesBackToTheSameLayout() throws {
        XCTAssertEqual(ABI.x86_32.protocolName, "x86_32-abi")
        XCTAssertEqual(ABI.x86_64.protocolName, "x86_64-abi")
        XCTAssertEqual(ABI.native.protocolName, "x86_64-abi")
        for abi in ABI.allCases {
            let parsed = try ABI(protocolName: abi.protocolName)
            XCTAssertEqual(parsed.resolved, abi.resolved, "\(abi)")
            XCTAssertEqual(parsed.layout, abi.layout, "\(abi)")
        }
        XCTAssertEqual(ABI.allCases.map(\.description), ["native", "x86_32", "x86_64"])
    }

    func testUnknownProtocolStringIsATypedErrorNamingIt() {
        for name in ["", "x86_64", "X86_32-ABI", "x86_32-abi ", "ppc64-abi"] {
            XCTAssertThrowsError(try ABI(protocolName: name), "\"\(name)\"") { error in
                XCTAssertEqual(error as? ABIError, .unknownProtocol(name))
                XCTAssertTrue("\(error)".contains("\"\(name)\""), "the message names the string: \(error)")
            }
        }
    }

    func testX86_32MovesEveryFieldAfterHandleFourBytesEarlierAndShrinksEntriesToFit() {
        let (wide, narrow) = (BlkifLayout.x86_64, BlkifLayout.x86_32)
        XCTAssertEqual([wide.entrySize, narrow.entrySize], [112, 108])
        XCTAssertEqual([wide.responseSize, narrow.responseSize], [16, 12])
        XCTAssertEqual([wide.indirectSize, narrow.indirectSize], [64, 64], "i386 pads the indirect request to 64")
        let moved: [KeyPath<BlkifLayout, Int>] = [
            \.requestID, \.requestSector, \.requestSegments, \.discardSectorCount, \.indirectID, \.indirectSector,
            \.indirectHandle, \.indirectGrants, \.requestSize, \.discardSize,
        ]
        for field in moved {
            XCTAssertEqual(wide[keyPath: field] - narrow[keyPath: field], 4, "\(field)")
        }
    }

    func testEveryStructureFitsInOneEntryInEveryABI() {
        for abi in ABI.allCases {
            let layout = abi.layout
            XCTAssertLessThanOrEqual(layout.requestSegments + ABI.segmentsPerHeader * BlkifLayout.segmentSize, layout.requestSize)
            for size in [layout.requestSize, layout.discardSize, layout.indirectSize, layout.responseSize] {
                XCTAssertLessThanOrEqual(size, layout.entrySize, "\(abi)")
            }
            XCTAssertLessThanOrEqual(layout.discardSectorCount + 8, layout.discardSize, "\(abi)")
            XCTAssertLessThanOrEqual(layout.indirectGrants + 4 * IndirectRequestView.grantCapacity, layout.indirectSize, "\(abi)")
            XCTAssertLessThanOrEqual(layout.segmentsPerBlock * BlkifLayout.segmentSize, layout.entrySize, "\(abi)")
        }
    }
}
