// The grant table entry and its flags against Xen's own header, compiled at test time.

import CXenPlatform
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

    /// The same for the grant-copy segment XenPlatform hands to `xengnttab_grant_copy`, which it
    /// declares itself (the library is loaded at run time): `<xengnttab.h>`'s layout and flags.
    func testGrantCopySegmentMatchesXensHeader() throws {
        let source = CPeer.sourceDirectory(besides: #filePath).appendingPathComponent("grant_copy_layout.c")
        let program = try CPeer.build([source], bits: .m64, name: "grant-copy-layout")
        let result = try ChildProcess.run(program.path, [], timeout: .seconds(10))
        XCTAssertEqual(result.status, 0, result.standardError)
        typealias Segment = cxp_grant_copy_segment
        func offset(_ field: PartialKeyPath<Segment>) -> Int { MemoryLayout<Segment>.offset(of: field)! }
        typealias Foreign = cxp_copy_foreign
        let expected = """
            size \(MemoryLayout<Segment>.size) source \(offset(\.source)) dest \(offset(\.dest)) len \(offset(\.len)) \
            flags \(offset(\.flags)) status \(offset(\.status))
            ref \(MemoryLayout<Foreign>.offset(of: \.ref)!) offset \(MemoryLayout<Foreign>.offset(of: \.offset)!) \
            domid \(MemoryLayout<Foreign>.offset(of: \.domid)!) source_gref \(cxp_gntcopy_source_gref) dest_gref \(cxp_gntcopy_dest_gref)

            """
        XCTAssertEqual(result.standardOutput, expected)
    }
}
