// Grants between two processes: this test process is domain 1, the peer process domain 0.

import BlkifABI
import XCTest
import XenPlatform
import XenStore
@testable import xenplatform_peer

final class GrantTwoProcessTests: TwoProcessTestCase {
    private func refList(_ refs: [GrantRef]) -> String { refs.map { "\($0.rawValue)" }.joined(separator: " ") }

    /// We share and write, the peer maps and reads and writes back, we read: then the other way.
    func testWriteOnOneSideReadOnTheOtherBothDirections() throws {
        let ours = try platform.share(pageCount: 2, with: .dom0, access: .readWrite)
        Pattern.fill(ours.base, count: ours.byteCount, seed: 11)
        let mapped = try peer.words("map 1 rw \(refList(ours.refs))")[0]
        try peer.run("check \(mapped) 11")
        try peer.run("fill \(mapped) 12")
        XCTAssertNil(Pattern.firstMismatch(ours.base, count: ours.byteCount, seed: 12))
        try peer.run("unmap \(mapped)")
        try platform.endSharing(ours)

        let theirs = try peer.words("share 1 rw 3")
        try peer.run("fill \(theirs[0]) 21")
        let refs = theirs.dropFirst().map { GrantRef(UInt32($0)!) }
        let view = try platform.map(refs, grantedBy: .dom0, access: .readWrite)
        XCTAssertNil(Pattern.firstMismatch(view.base, count: view.byteCount, seed: 21))
        Pattern.fill(view.base, count: view.byteCount, seed: 22)
        try peer.run("check \(theirs[0]) 22")
        XCTAssertThrowsError(try peer.run("end \(theirs[0])")) { XCTAssertTrue("\($0)".contains("still mapped"), "\($0)") }
        try platform.unmap(view)
        try peer.run("end \(theirs[0])")
    }

    /// A read-only grant maps PROT_READ: reading works, mapping it read-write is refused, and a
    /// write through the read-only view kills the writer with SIGSEGV (shown in the peer process).
    func testReadOnlyGrantIsEnforced() throws {
        let pages = try platform.share(pageCount: 1, with: .dom0, access: .readOnly)
        Pattern.fill(pages.base, count: pages.byteCount, seed: 31)
        let refs = refList(pages.refs)
        XCTAssertEqual(try peer.failure("map 1 rw \(refs)"), PlatformError.readOnlyGrant(pages.refs[0]).description)
        let mapped = try peer.words("map 1 ro \(refs)")[0]
        try peer.run("check \(mapped) 31")
        peer.send("fill \(mapped) 32")
        XCTAssertEqual(try peer.finish(timeout: .seconds(10)), -SIGSEGV, "a write through a read-only mapping must fault")
        XCTAssertNil(Pattern.firstMismatch(pages.base, count: pages.byteCount, seed: 31), "the page must be unchanged")
        try endEventually(pages)  // the dead peer's mapping is gone with its process
    }

    /// Ending a grant the peer maps is refused, naming the reference; it succeeds once unmapped.
    func testEndingAMappedGrantIsRefusedUntilUnmapped() throws {
        let pages = try platform.share(pageCount: 2, with: .dom0, access: .readWrite)
        let mapped = try peer.words("map 1 ro \(refList(pages.refs))")[0]
        XCTAssertThrowsError(try platform.endSharing(pages)) { error in
            XCTAssertEqual(error as? PlatformError, .stillMapped(pages.refs[0]))
        }
        XCTAssertThrowsError(try platform.endSharing(pages)) { error in
            XCTAssertEqual(error as? PlatformError, .stillMapped(pages.refs[0]), "a repeated end reports the same")
        }
        try peer.run("unmap \(mapped)")
        try platform.endSharing(pages)
        XCTAssertThrowsError(try platform.endSharing(pages)) { error in
            XCTAssertEqual(error as? PlatformError, .unknownPages(address: Int(bitPattern: pages.base)))
        }
    }

    /// 1, 2 and 16 references granted out of order map in the order given into one contiguous
    /// view: page i of the view is the page of refs[i].
    func testBatchMappingIsContiguousAndInOrder() throws {
        for count in [1, 2, 16] {
            let theirs = try peer.words("share 1 rw \(count)")
            try peer.run("fill \(theirs[0]) \(count)")
            let refs = theirs.dropFirst().map { GrantRef(UInt32($0)!) }
            let reversed = Array(refs.reversed())
            let view = try platform.map(reversed, grantedBy: .dom0, access: .readOnly)
            XCTAssertEqual(view.byteCount, count * GrantPage.size)
            for page in 0..<count {
                let source = count - 1 - page  // page `page` of the view is the peer's page `source`
                for offset in stride(from: 0, to: GrantPage.size, by: 509) {
                    let byte = view.base.load(fromByteOffset: page * GrantPage.size + offset, as: UInt8.self)
                    XCTAssertEqual(byte, Pattern.byte(source * GrantPage.size + offset, seed: UInt64(count)), "\(count) pages: page \(page) offset \(offset)")
                }
            }
            try platform.unmap(view)
            try peer.run("end \(theirs[0])")
        }
    }

    /// Every mapping error, each naming the offending reference; a failed batch leaves nothing claimed.
    func testEveryMappingErrorNamesTheReference() throws {
        let rw = try peer.words("share 1 rw 1"), ro = try peer.words("share 1 ro 1"), other = try peer.words("share 5 rw 1")
        let ended = try peer.words("share 1 rw 1")
        try peer.run("end \(ended[0])")
        let (good, readOnly, forOther, endedRef) = (GrantRef(UInt32(rw[1])!), GrantRef(UInt32(ro[1])!), GrantRef(UInt32(other[1])!), GrantRef(UInt32(ended[1])!))
        let cases: [([GrantRef], GrantAccess, PlatformError)] = [
            ([GrantRef(4000)], .readOnly, .notGranted(GrantRef(4000))),  // never granted
            ([GrantRef(3)], .readOnly, .notGranted(GrantRef(3))),  // reserved
            ([endedRef], .readOnly, .notGranted(endedRef)),
            ([GrantRef(4096)], .readOnly, .referenceOutOfRange(GrantRef(4096), entries: 4096)),
            ([forOther], .readOnly, .grantedToAnotherDomain(forOther, grantee: DomainID(5), mapper: DomainID(1))),
            ([readOnly], .readWrite, .readOnlyGrant(readOnly)),
            ([good, readOnly], .readWrite, .readOnlyGrant(readOnly)),
            ([], .readOnly, .invalidCount(0, limit: 256)),
            (Array(repeating: good, count: 257), .readOnly, .invalidCount(257, limit: 256)),
        ]
        for (refs, access, expected) in cases {
            XCTAssertThrowsError(try platform.map(refs, grantedBy: .dom0, access: access), "\(expected)") { error in
                XCTAssertEqual(error as? PlatformError, expected)
            }
        }
        try peer.run("end \(rw[0])")  // the failed batch [good, readOnly] left `good` unclaimed
        XCTAssertThrowsError(try platform.map([GrantRef(8)], grantedBy: DomainID(9), access: .readOnly)) { error in
            guard case .peerUnreachable(DomainID(9), _)? = error as? PlatformError else { return XCTFail("\(error)") }
        }
    }

    /// Grant copies from and into the peer's pages, parts of pages in one call; a copy into a
    /// read-only grant, from a reference never granted, or leaving its page is refused, named;
    /// and nothing stays claimed (the peer can end its grants at once).
    func testGrantCopiesMoveBytesBothWaysAndNameTheirRefusals() throws {
        let theirs = try peer.words("share 1 rw 2"), readOnly = try peer.words("share 1 ro 1")
        try peer.run("fill \(theirs[0]) 41")
        let refs = theirs.dropFirst().map { GrantRef(UInt32($0)!) }, readOnlyRef = GrantRef(UInt32(readOnly[1])!)
        let local = UnsafeMutableRawPointer.allocate(byteCount: 2 * GrantPage.size, alignment: GrantPage.size)
        defer { local.deallocate() }
        let copies = [
            GrantCopy(ref: refs[1], offset: 512, length: 3584, local: local, direction: .fromGrant),
            GrantCopy(ref: refs[0], offset: 0, length: 512, local: local + 3584, direction: .fromGrant),
        ]
        try copies.withUnsafeBufferPointer { try platform.copy($0, grantedBy: .dom0) }
        for offset in stride(from: 0, to: 4096, by: 7) {
            let expected = offset < 3584 ? Pattern.byte(GrantPage.size + 512 + offset, seed: 41) : Pattern.byte(offset - 3584, seed: 41)
            XCTAssertEqual(local.load(fromByteOffset: offset, as: UInt8.self), expected, "offset \(offset)")
        }
        Pattern.fill(local, count: GrantPage.size, seed: 42)
        try [GrantCopy(ref: refs[0], offset: 0, length: 4096, local: local, direction: .toGrant)].withUnsafeBufferPointer {
            try platform.copy($0, grantedBy: .dom0)
        }
        let back = try platform.map([refs[0]], grantedBy: .dom0, access: .readOnly)
        XCTAssertNil(Pattern.firstMismatch(back.base, count: GrantPage.size, seed: 42), "the copy into the peer's page")
        try platform.unmap(back)
        let refusals: [(GrantCopy, PlatformError)] = [
            (GrantCopy(ref: readOnlyRef, offset: 0, length: 512, local: local, direction: .toGrant), .readOnlyGrant(readOnlyRef)),
            (GrantCopy(ref: GrantRef(4000), offset: 0, length: 512, local: local, direction: .fromGrant), .notGranted(GrantRef(4000))),
            (GrantCopy(ref: refs[0], offset: 3584, length: 1024, local: local, direction: .fromGrant), .invalidCopy(refs[0], offset: 3584, length: 1024)),
            (GrantCopy(ref: refs[0], offset: 0, length: 0, local: local, direction: .fromGrant), .invalidCopy(refs[0], offset: 0, length: 0)),
        ]
        for (copy, expected) in refusals {
            XCTAssertThrowsError(try [copy].withUnsafeBufferPointer { try platform.copy($0, grantedBy: .dom0) }) { error in
                XCTAssertEqual(error as? PlatformError, expected)
            }
        }
        try peer.run("end \(theirs[0])")
        try peer.run("end \(readOnly[0])")
    }

    /// Ends `pages`, retrying briefly while the platform notices a dead peer's hang-up.
    private func endEventually(_ pages: SharedPages) throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do throws(PlatformError) {
                return try platform.endSharing(pages)
            } catch {
                guard case .stillMapped = error, ContinuousClock.now < deadline else { throw error }
                usleep(1_000)
            }
        }
    }
}
