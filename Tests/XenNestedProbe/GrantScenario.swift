// XenPlatform's Xen grant table in dom0: pages shared through gntalloc (xengntshr) to domain 0
// itself and mapped back through gntdev (xengnttab), as a frontend and backend in one domain.

import BlkifABI
import Foundation
import XenPlatform
import XenStore

/// Sharing and mapping through Xen's grant drivers, with the hypervisor checking the grants.
struct GrantScenario {
    let report: CheckReport

    func run() {
        report.attempt("grants: open the Xen grant table") {
            let table = try XenGrantTable()
            report.note("grant table open")
            try readWrite(table)
            try readOnly(table)
            try batches(table)
            try refusals(table)
            try copies(table)
        }
    }

    /// Fills page `index` of `base` with bytes derived from `seed` and the index.
    private static func fill(_ base: UnsafeMutableRawPointer, page index: Int, seed: UInt8) {
        let bytes = (base + index * GrantPage.size).assumingMemoryBound(to: UInt8.self)
        for offset in 0..<GrantPage.size { bytes[offset] = UInt8(truncatingIfNeeded: offset &* 31 &+ index &* 7) ^ seed }
    }

    /// Whether page `index` of `base` holds what ``fill(_:page:seed:)`` wrote for `page`.
    private static func holds(_ base: UnsafeMutableRawPointer, page index: Int, filledAs page: Int, seed: UInt8) -> Bool {
        let bytes = (base + index * GrantPage.size).assumingMemoryBound(to: UInt8.self)
        return (0..<GrantPage.size).allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ page &* 7) ^ seed }
    }

    private func readWrite(_ table: XenGrantTable) throws {
        let shared = try table.share(pageCount: 1, with: .dom0, access: .readWrite)
        report.note("shared 1 page as \(shared.refs[0])")
        Self.fill(shared.base, page: 0, seed: 0xA5)
        let mapped = try table.map(shared.refs, grantedBy: .dom0, access: .readWrite)
        report.expect(Self.holds(mapped.base, page: 0, filledAs: 0, seed: 0xA5),
                      "grants: a page shared through gntalloc reads the same through gntdev (\(shared.refs[0]))")
        mapped.base.storeBytes(of: 0xDEAD_BEEF as UInt32, toByteOffset: 100, as: UInt32.self)
        report.expect(shared.base.load(fromByteOffset: 100, as: UInt32.self) == 0xDEAD_BEEF,
                      "grants: a write through the mapping is seen by the granter")
        try table.unmap(mapped)
        try table.endSharing(shared)
    }

    private func readOnly(_ table: XenGrantTable) throws {
        let shared = try table.share(pageCount: 1, with: .dom0, access: .readOnly)
        Self.fill(shared.base, page: 0, seed: 0x3C)
        do {
            let wrongly = try table.map(shared.refs, grantedBy: .dom0, access: .readWrite)
            try table.unmap(wrongly)
            report.expect(false, "grants: a read-only grant refuses a writable mapping", "the mapping succeeded")
        } catch {
            report.expect(error == .readOnlyGrant(shared.refs[0]), "grants: a read-only grant refuses a writable mapping, named as such",
                          "\(error)")
        }
        let mapped = try table.map(shared.refs, grantedBy: .dom0, access: .readOnly)
        report.expect(Self.holds(mapped.base, page: 0, filledAs: 0, seed: 0x3C), "grants: a read-only grant maps read-only and reads the same")
        let child = ToolRun.runSelf(["write-read-only", String(shared.refs[0].rawValue)])
        report.expect(child.signal == SIGSEGV, "grants: a write through a read-only mapping (another process) dies of SIGSEGV",
                      "status \(child.status) signal \(child.signal) \(child.output)")
        report.expect(Self.holds(shared.base, page: 0, filledAs: 0, seed: 0x3C), "grants: the read-only page is intact after that write")
        try table.unmap(mapped)
        try table.endSharing(shared)
    }

    private func batches(_ table: XenGrantTable) throws {
        let count = 16
        let shared = try table.share(pageCount: count, with: .dom0, access: .readWrite)
        for page in 0..<count { Self.fill(shared.base, page: page, seed: 0x5A) }
        let started = ContinuousClock.now
        let inOrder = try table.map(shared.refs, grantedBy: .dom0, access: .readWrite)
        let elapsed = ContinuousClock.now - started
        report.expect((0..<count).allSatisfy { Self.holds(inOrder.base, page: $0, filledAs: $0, seed: 0x5A) },
                      "grants: a batch of \(count) references maps contiguously in order")
        report.note("one batch map of \(count) grants took \(elapsed)")
        let reversed = try table.map(shared.refs.reversed(), grantedBy: .dom0, access: .readOnly)
        report.expect((0..<count).allSatisfy { Self.holds(reversed.base, page: $0, filledAs: count - 1 - $0, seed: 0x5A) },
                      "grants: the same batch reversed maps in the order given")
        try table.unmap(reversed)
        try table.unmap(inOrder)
        try table.endSharing(shared)
    }

    private func refusals(_ table: XenGrantTable) throws {
        let shared = try table.share(pageCount: 1, with: .dom0, access: .readWrite)
        let absent = GrantRef(shared.refs[0].rawValue &+ 1000)
        do {
            let wrongly = try table.map([shared.refs[0], absent], grantedBy: .dom0, access: .readWrite)
            try table.unmap(wrongly)
            report.expect(false, "grants: a batch with a reference never granted is refused whole", "the mapping succeeded")
        } catch {
            report.expect(error == .notGranted(absent), "grants: a batch with a reference never granted is refused whole, naming it",
                          "\(error)")
        }
        let again = try table.map(shared.refs, grantedBy: .dom0, access: .readWrite)
        report.expect(true, "grants: the good reference of the refused batch still maps afterwards")
        try table.unmap(again)
        try table.endSharing(shared)
        do {
            _ = try table.share(pageCount: 0, with: .dom0, access: .readWrite)
            report.expect(false, "grants: sharing 0 pages is refused", "accepted")
        } catch {
            report.expect(error == .invalidCount(0, limit: table.maximumBatch), "grants: sharing 0 pages is refused", "\(error)")
        }
    }

    /// Grant copies (`xengnttab_grant_copy`), as BlkBack's copying data path makes them: parts of
    /// pages in both directions in one call, and the refusals named.
    private func copies(_ table: XenGrantTable) throws {
        let shared = try table.share(pageCount: 2, with: .dom0, access: .readWrite)
        for page in 0..<2 { Self.fill(shared.base, page: page, seed: 0x77) }
        let local = UnsafeMutableRawPointer.allocate(byteCount: 3 * GrantPage.size, alignment: GrantPage.size)
        defer { local.deallocate() }
        local.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 3 * GrantPage.size)
        let source = shared.base.assumingMemoryBound(to: UInt8.self)
        let copies = [
            GrantCopy(ref: shared.refs[0], offset: 0, length: 4096, local: local, direction: .fromGrant),
            GrantCopy(ref: shared.refs[1], offset: 512, length: 1024, local: local + 4096, direction: .fromGrant),
            GrantCopy(ref: shared.refs[1], offset: 3584, length: 512, local: local + 8192, direction: .toGrant),
        ]
        try copies.withUnsafeBufferPointer { try table.copy($0, grantedBy: .dom0) }
        let bytes = local.assumingMemoryBound(to: UInt8.self)
        report.expect((0..<4096).allSatisfy { bytes[$0] == source[$0] } && (0..<1024).allSatisfy { bytes[4096 + $0] == source[4096 + 512 + $0] },
                      "grants: grant copies from two pages, whole and in part, hold the granter's bytes")
        let untouched = source[4096 + 3583] == UInt8(truncatingIfNeeded: 3583 &* 31 &+ 1 &* 7) ^ 0x77  // what fill wrote there
        report.expect((0..<512).allSatisfy { source[4096 + 3584 + $0] == 0xEE } && untouched,
                      "grants: a grant copy into a page writes its bytes and no others")
        let readOnly = try table.share(pageCount: 1, with: .dom0, access: .readOnly)
        let refusals: [(GrantCopy, PlatformError, String)] = [
            (GrantCopy(ref: readOnly.refs[0], offset: 0, length: 512, local: local, direction: .toGrant), .readOnlyGrant(readOnly.refs[0]),
             "a copy into a read-only grant is refused, named as such"),
            (GrantCopy(ref: GrantRef(shared.refs[0].rawValue &+ 1000), offset: 0, length: 512, local: local, direction: .fromGrant),
             .notGranted(GrantRef(shared.refs[0].rawValue &+ 1000)), "a copy from a reference never granted is refused, naming it"),
            (GrantCopy(ref: shared.refs[0], offset: 3584, length: 1024, local: local, direction: .fromGrant),
             .invalidCopy(shared.refs[0], offset: 3584, length: 1024), "a copy leaving its page is refused before the hypervisor sees it"),
        ]
        for (copy, expected, check) in refusals {
            do throws(PlatformError) {
                try [copy].withUnsafeBufferPointer { (copies) throws(PlatformError) in try table.copy(copies, grantedBy: .dom0) }
                report.expect(false, "grants: \(check)", "the copy succeeded")
            } catch {
                report.expect(error == expected, "grants: \(check)", "\(error)")
            }
        }
        try table.endSharing(readOnly)
        try table.endSharing(shared)
    }

    /// The child's half of the read-only check: maps `ref` (granted by domain 0) read-only and
    /// writes through it. Returns only if the write did not fault (the exit status then says so).
    static func writeThroughReadOnlyMapping(_ ref: UInt32?) -> Int32 {
        guard let ref, let table = try? XenGrantTable(),
              let mapped = try? table.map([GrantRef(ref)], grantedBy: .dom0, access: .readOnly) else { return 3 }
        mapped.base.storeBytes(of: 0xFF, as: UInt8.self)
        return 4
    }
}
