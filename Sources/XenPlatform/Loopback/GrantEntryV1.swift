// Xen's version-1 grant table entry in shared memory, and the hypervisor's checks on it.

import BlkifABI
import Synchronization
import XenStore

/// The flags of a `grant_entry_v1` (`GTF_*` in Xen's `public/grant_table.h`).
struct GrantFlags: OptionSet, Hashable {
    let rawValue: UInt16

    /// `GTF_permit_access`: the entry is an active grant (the type field, bits 0-1).
    static let permitAccess = GrantFlags(rawValue: 1)
    /// `GTF_type_mask`: the entry's type; anything but `permitAccess` cannot be mapped.
    static let typeMask = GrantFlags(rawValue: 3)
    /// `GTF_readonly`: the grantee may only read.
    static let readOnly = GrantFlags(rawValue: 1 << 2)
    /// `GTF_reading`: the grantee maps the page (set while any mapping exists).
    static let reading = GrantFlags(rawValue: 1 << 3)
    /// `GTF_writing`: the grantee maps the page writable.
    static let writing = GrantFlags(rawValue: 1 << 4)

    /// Whether the grantee maps the page now.
    var isInUse: Bool { !intersection([.reading, .writing]).isEmpty }
}

/// One `grant_entry_v1` in the shared grant table: `uint16_t flags; domid_t domid; uint32_t frame`
/// (8 bytes). The first 32-bit word holds `flags | domid << 16` (little-endian), so a claim can
/// check the flags and the domain in one compare-and-swap, as the hypervisor does.
struct GrantEntryV1 {
    /// Bytes of one entry.
    static let size = 8

    private let word: UnsafeMutablePointer<Atomic<UInt32>>
    private let frameWord: UnsafeMutablePointer<Atomic<UInt32>>

    /// The entry for `ref` in the table at `table` (8-byte aligned; `ref` already range-checked).
    init(table: UnsafeMutableRawPointer, ref: GrantRef) {
        let entry = table + Int(ref.rawValue) * Self.size
        word = entry.assumingMemoryBound(to: Atomic<UInt32>.self)
        frameWord = (entry + 4).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The flags and the domain the entry grants to, read together.
    var header: (flags: GrantFlags, domain: DomainID) {
        let value = word.pointee.load(ordering: .acquiring)  // frame is read after this load
        return (GrantFlags(rawValue: UInt16(truncatingIfNeeded: value)), DomainID(UInt16(truncatingIfNeeded: value >> 16)))
    }

    /// The granted page's frame number in the granter's memory.
    var frame: UInt32 { frameWord.pointee.load(ordering: .acquiring) }

    // MARK: The granting side

    /// Grants `frame` to `domain`: the frame is written before the flags that make it valid.
    func grant(frame: UInt32, to domain: DomainID, access: GrantAccess) {
        frameWord.pointee.store(frame, ordering: .relaxed)
        let flags: GrantFlags = access == .readOnly ? [.permitAccess, .readOnly] : .permitAccess
        // the frame is visible to a mapper that sees the flags
        word.pointee.store(UInt32(flags.rawValue) | UInt32(domain.rawValue) << 16, ordering: .releasing)
    }

    /// Ends the grant unless it is in use. Returns `false`, changing nothing, when the grantee maps it.
    func end() -> Bool {
        var current = word.pointee.load(ordering: .acquiring)
        while true {
            if GrantFlags(rawValue: UInt16(truncatingIfNeeded: current)).isInUse { return false }
            let (exchanged, original) = word.pointee.compareExchange(
                expected: current, desired: 0, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original  // a mapper claimed or released it meanwhile: look again
        }
    }

    // MARK: The mapping side (the hypervisor's part)

    /// Checks the entry as the hypervisor does for `mapper` and `access`, and marks it in use
    /// (`GTF_reading`, plus `GTF_writing` when writable) in one compare-and-swap that also proves
    /// flags and domain unchanged. Returns the frame.
    func claim(_ ref: GrantRef, by mapper: DomainID, access: GrantAccess, pages: Int) throws(PlatformError) -> UInt32 {
        for _ in 0..<16 {  // bounded: a granter rewriting the entry forever gets an error
            let current = word.pointee.load(ordering: .acquiring)
            let flags = GrantFlags(rawValue: UInt16(truncatingIfNeeded: current))
            let domain = DomainID(UInt16(truncatingIfNeeded: current >> 16))
            guard flags.intersection(.typeMask) == .permitAccess else { throw .notGranted(ref) }
            guard domain == mapper else { throw .grantedToAnotherDomain(ref, grantee: domain, mapper: mapper) }
            if access == .readWrite && flags.contains(.readOnly) { throw .readOnlyGrant(ref) }
            let frame = self.frame
            guard Int(frame) < pages else { throw .frameOutOfRange(ref, frame: frame, pages: pages) }
            let marks: GrantFlags = access == .readWrite ? [.reading, .writing] : .reading
            let desired = current | UInt32(marks.rawValue)
            if word.pointee.compareExchange(expected: current, desired: desired, ordering: .acquiringAndReleasing).exchanged {
                return frame
            }
        }
        throw .grantChanged(ref)
    }

    /// Clears in-use marks (`GTF_reading` and/or `GTF_writing`) when the last such mapping goes.
    func release(_ marks: GrantFlags) {
        word.pointee.bitwiseAnd(~UInt32(marks.rawValue), ordering: .releasing)
    }
}
