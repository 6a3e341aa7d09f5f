// SPIN on the ring's notification protocol: proved for 1-4 slots, refuted when broken.

import XCTest

/// `Models/ring.pml` (see its header and docs/reliability.md): SPIN must prove the protocol
/// as the code implements it free of lost wake-ups for rings of 1 to 4 slots, and must find a
/// counterexample, a run ending with both ends asleep and a request unserved, once the final
/// check or either fence is removed.
final class RingModelTests: XCTestCase {
    func testNoLostWakeUpWithOneToFourSlots() throws {
        for slots in 1...4 {
            let result = try SpinModel.prove("ring.pml", "-DSLOTS=\(slots)")
            XCTAssertTrue(result.contains("errors: 0"), "\(slots) slots:\n\(result)")
        }
    }

    func testWithoutTheFinalCheckAWakeUpIsLost() throws {
        try assertLostWakeUp(removing: "NO_FINAL_CHECK")
    }

    func testWithoutTheFenceAfterArmingTheEventAWakeUpIsLost() throws {
        try assertLostWakeUp(removing: "NO_ARM_FENCE")
    }

    func testWithoutTheFenceAfterPublishingAWakeUpIsLost() throws {
        try assertLostWakeUp(removing: "NO_PUSH_FENCE")
    }

    /// SPIN must refute the variant: an invalid end state (both asleep), with a trail whose
    /// last steps put both ends to sleep.
    private func assertLostWakeUp(removing piece: String) throws {
        let result = try SpinModel.refute("ring.pml", "-DSLOTS=1", "-D\(piece)")
        XCTAssertTrue(result.contains("invalid end state"), "\(piece):\n\(result)")
        XCTAssertTrue(result.contains("front: armed rsp_event") && result.contains("back: armed req_event"), "\(piece): trail\n\(result)")
    }
}
