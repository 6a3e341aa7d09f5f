// Every input kept in the fuzz corpora, replayed through its target's property.

import Foundation
import XCTest

/// Replays each corpus of `Fuzz/Corpus` through the same property its libFuzzer target checks
/// (`make fuzz-<target>`), in the ordinary test build: a change that breaks any input the
/// fuzzer once found interesting fails here, without the sanitizer build. A violated property
/// stops the run with the property's message (`fuzz property violated: ...`); replay that one
/// input under the address sanitizer with `.build-fuzz/fuzz-<target> <file>`.
final class CorpusReplayTests: XCTestCase {
    func testDecodeCorpus() throws { try replay("decode", DecodeProperty.check) }

    func testIndirectPagesCorpus() throws { try replay("indirect-pages", IndirectPagesProperty.check) }

    func testBackRingCorpus() throws { try replay("back-ring", BackRingProperty.check) }

    func testFrontRingCorpus() throws { try replay("front-ring", FrontRingProperty.check) }

    func testBackendRequestsCorpus() throws { try replay("backend-requests", BackendRequestsProperty.check) }

    func testXenStoreFramerCorpus() throws { try replay("xenstore-framer", WireFramerProperty.check) }

    func testXenStoreHandlerCorpus() throws { try replay("xenstore-handler", WireHandlerProperty.check) }

    func testXenBusNodesCorpus() throws { try replay("xenbus-nodes", XenBusNodesProperty.check) }

    // MARK: Inputs found, by name

    /// backend-requests, found 2026-11-30: an indirect request over 2 pages while the grant
    /// table maps 1 reference a call. BlkBack's `RequestExecutor` maps all of an indirect
    /// request's pages in one call whatever `maximumBatch` says; the table refuses (as both real
    /// ones would below 8), the request is answered with an error, nothing traps or leaks.
    func testIndirectPagesBeyondTheMapBatch() throws {
        let input = try Data(contentsOf: Self.corpus("backend-requests").appendingPathComponent("indirect-pages-beyond-the-map-batch"))
        input.withUnsafeBytes { BackendRequestsProperty.check($0) }
    }

    // MARK: Helpers

    /// `Fuzz/Corpus/<target>`.
    private static func corpus(_ target: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Corpus").appendingPathComponent(target)
    }

    /// Runs `property` on every file of `Fuzz/Corpus/<target>`; the corpus must not be empty.
    private func replay(_ target: String, _ property: (UnsafeRawBufferPointer) -> Void) throws {
        let directory = Self.corpus(target)
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        XCTAssertFalse(files.isEmpty, "no corpus in \(directory.path)")
        let started = ContinuousClock.now
        for file in files {
            let input = try Data(contentsOf: file)
            input.withUnsafeBytes { property($0) }
        }
        print("\(target): \(files.count) inputs replayed in \(ContinuousClock.now - started)")
    }
}
