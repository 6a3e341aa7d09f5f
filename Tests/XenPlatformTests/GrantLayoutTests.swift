// The grant table entry and its flags against Xen's own header, compiled at test time.

import Foundation
import TestSupport
import XCTest
@testable import XenPlatform

final class GrantLayoutTests: XCTestCase {
    /// A C program built from <xen/grant_table.h> prints grant_entry_v1's size and field offsets,
    /// the GTF_* flags and the reserved entries; ours must be the same.
    func testEntryLayoutAndFlagsMatchXensHeader() throws {
        let source = CPeer.sourceDirectory(besides: #filePath).appendingPathComponent("grant_layout.c")
        let program = try CPeer.build([source], bits: .m64, name: "grant-layout")
        let result = try ChildProcess.run(program.path, [], timeout: .seconds(10))
        XCTAssertEqual(result.status, 0, result.standardError)
        let expected = """
            size \(GrantEntryV1.size) flags 0 domid 2 frame 4
            permit_access \(GrantFlags.permitAccess.rawValue) type_mask \(GrantFlags.typeMask.rawValue) \
            readonly \(GrantFlags.readOnly.rawValue) reading \(GrantFlags.reading.rawValue) \
            writing \(GrantFlags.writing.rawValue) reserved \(LoopbackPlatform.reservedEntries)

            """
        XCTAssertEqual(result.standardOutput, expected)
    }
}
