// Bytes the C compiler wrote, read by our views and decoder; bytes our views wrote, read by C.

import BlkifABI
import Foundation
import TestSupport
import XCTest

/// Exchanges sample structures of every layout with `abi_layout` compiled for each ABI, in both
/// directions, for a few seeds (derived from `BLKIF_FUZZ_SEED` when it is set).
final class ABISampleInteropTests: XCTestCase {
    /// The ABIs exchanged: each concrete one, and native (which must behave as the host's).
    private let abis: [ABI] = [.x86_64, .x86_32, .native]

    /// Seeds of the samples: a handful, so the suite stays fast.
    private var seeds: [UInt64] {
        var random = SplitMix64(seed: PropertyTestConfiguration.seed)
        return (0..<4).map { _ in random.next() }
    }

    func testOurViewsReadEveryFieldTheCCompilerWroteInEveryABI() throws {
        for abi in abis {
            for seed in seeds {
                let file = try ABISampleFile(abi: abi, contents: ABILayoutProgram.writeSample(seed: seed, abi: abi))
                assertFields(file.fieldsReadWithViews, equal: ABISample(seed: seed).fields, "C wrote, views read, \(abi), seed \(seed)")
            }
        }
    }

    func testTheCCompilerReadsEveryFieldOurViewsWroteInEveryABI() throws {
        for abi in abis {
            for seed in seeds {
                let file = ABISampleFile(abi: abi)
                file.write(ABISample(seed: seed))
                let read = try ABILayoutProgram.readSample(file.data, abi: abi)
                assertFields(read, equal: ABISample(seed: seed).fields, "views wrote, C read, \(abi), seed \(seed)")
            }
        }
    }

    func testOurViewsWriteByteForByteWhatTheCCompilerWritesInEveryABI() throws {
        for abi in abis {
            for seed in seeds {
                let fromC = try ABISampleFile(abi: abi, contents: ABILayoutProgram.writeSample(seed: seed, abi: abi))
                let ours = ABISampleFile(abi: abi, filledWith: 0)
                ours.write(ABISample(seed: seed))
                let difference = zip(ours.data, fromC.data).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                XCTAssertNil(difference, "\(abi), seed \(seed): byte \(difference ?? 0) differs (C zero-fills, then sets every field)")
            }
        }
    }

    func testDecoderAcceptsWhatTheCCompilerWroteWithTheSameValuesInEveryABI() throws {
        let limits = RequestLimits(maximumSegments: ABI.segmentsPerHeader, maximumIndirectSegments: RequestLimits.indirectSegmentCeiling)
        for abi in abis {
            for seed in seeds {
                let file = try ABISampleFile(abi: abi, contents: ABILayoutProgram.writeSample(seed: seed, abi: abi))
                let sample = ABISample(seed: seed)
                let context = "\(abi), seed \(seed)"
                checkTransfer(decode(file, .request, limits, context), sample, context)
                checkDiscard(decode(file, .discard, limits, context), sample, context)
                try checkIndirect(decode(file, .indirect, limits, context), file, sample, context)
                XCTAssertEqual(file.response, sample.response, context)
            }
        }
    }

    /// The request in `slot`, decoded from exactly one entry; nil after a failure naming the error.
    private func decode(_ file: ABISampleFile, _ slot: ABISampleFile.Slot, _ limits: RequestLimits, _ context: String) -> BlkifRequest? {
        do {
            return try BlkifRequest.decode(file.entryBytes(slot), abi: file.abi, limits: limits)
        } catch {
            XCTFail("\(context): the C-written \(slot) was refused: \(error)")
            return nil
        }
    }

    private func checkTransfer(_ decoded: BlkifRequest?, _ sample: ABISample, _ context: String) {
        guard let decoded else { return }
        let expected = sample.request
        XCTAssertEqual(decoded.operation, expected.operation, context)
        XCTAssertEqual(decoded.id, expected.id, context)
        switch decoded {
        case .read(let transfer), .write(let transfer):
            XCTAssertEqual(transfer.handle, expected.handle, context)
            XCTAssertEqual(transfer.sector, expected.sector, context)
            XCTAssertEqual(Array(transfer.segments), expected.segments, context)
        default:
            XCTFail("\(context): decoded \(decoded.operation), C wrote \(expected.operation)")
        }
    }

    private func checkDiscard(_ decoded: BlkifRequest?, _ sample: ABISample, _ context: String) {
        guard case .discard(let discard) = decoded else { return XCTFail("\(context): C wrote a discard, decoded \(String(describing: decoded?.operation))") }
        let expected = sample.discard
        XCTAssertEqual(discard.id, expected.id, context)
        XCTAssertEqual(discard.handle, expected.handle, context)
        XCTAssertEqual(discard.sector, expected.sector, context)
        XCTAssertEqual(discard.sectorCount, expected.sectorCount, "\(context): nr_sectors")
        XCTAssertEqual(discard.flags, expected.flags, context)
    }

    private func checkIndirect(_ decoded: BlkifRequest?, _ file: ABISampleFile, _ sample: ABISample, _ context: String) throws {
        guard case .indirect(let indirect) = decoded else {
            return XCTFail("\(context): C wrote an indirect request, decoded \(String(describing: decoded?.operation))")
        }
        let expected = sample.indirect
        XCTAssertEqual(indirect.id, expected.id, context)
        XCTAssertEqual(indirect.handle, expected.handle, context)
        XCTAssertEqual(indirect.sector, expected.sector, context)
        XCTAssertEqual(indirect.operation, expected.operation, context)
        XCTAssertEqual(indirect.segmentCount, expected.segments.count, context)
        XCTAssertEqual((0..<IndirectRequestView.grantCapacity).map { indirect.pageGrants[$0] }, expected.grants, context)
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: indirect.segmentBytes, alignment: 8)
        defer { copy.deallocate() }
        XCTAssertEqual(Array(try indirect.segments(copying: file.pageBytes, into: copy)), expected.segments, context)
    }

    /// Fails once per field missing, extra or different, naming it.
    private func assertFields(_ actual: [String: String], equal expected: [String: String], _ context: String) {
        for name in Set(actual.keys).union(expected.keys).sorted() where actual[name] != expected[name] {
            XCTFail("\(context): \(name) is \(actual[name] ?? "absent"), expected \(expected[name] ?? "absent")")
        }
    }
}
