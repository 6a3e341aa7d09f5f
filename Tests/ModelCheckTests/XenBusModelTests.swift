// SPIN on the XenBus state machine of both ends, with the code's own transition tables.

import Foundation
import XCTest

/// `Models/xenbus.pml` (see its header and docs/reliability.md): both ends run the code's
/// transition functions (`Models/xenbus_transitions.pml`, generated from them) against a
/// toolstack and users that close, vanish and reconnect; SPIN must prove that every run comes
/// to rest with each end Connected or Closed, and refute the variants that drop a rule.
final class XenBusModelTests: XCTestCase {
    /// The committed tables are the code's: a change to the transition functions must be
    /// model-checked (regenerate with `BLKIF_REGENERATE_MODELS=1`, then run these tests).
    func testTheModelsTablesAreTheCodesTransitionFunctions() throws {
        let file = SpinModel.directory.appendingPathComponent("xenbus_transitions.pml")
        let generated = XenBusTransitionTables.promela()
        if ProcessInfo.processInfo.environment["BLKIF_REGENERATE_MODELS"] == "1" {
            try generated.write(to: file, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: file, encoding: .utf8)
        XCTAssertEqual(committed, generated,
                       "Models/xenbus_transitions.pml differs from XenBus's transition functions; rerun with BLKIF_REGENERATE_MODELS=1")
    }

    func testEveryRunEndsConnectedOrClosed() throws {
        let result = try SpinModel.prove("xenbus.pml")
        XCTAssertTrue(result.contains("errors: 0"), result)
    }

    func testABackendIgnoringAReconnectingFrontendLeavesItStuck() throws {
        let result = try SpinModel.refute("xenbus.pml", "-DNO_RECONNECT")
        XCTAssertTrue(result.contains("assertion violated"), result)
    }

    func testABackendIgnoringAVanishedFrontendStaysConnectedToNobody() throws {
        let result = try SpinModel.refute("xenbus.pml", "-DNO_CLOSE_ON_VANISH")
        XCTAssertTrue(result.contains("assertion violated"), result)
    }
}
