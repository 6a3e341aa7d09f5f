// The disk and the grant table a backend target runs against, both checking what they are asked.

import BlkBack
import BlkifABI
import Glibc
import XenPlatform
import XenStore

/// A disk held in memory, exactly its size, that checks every call the backend makes: no byte
/// outside the disk, no write to a read-only disk, no discard of a range past the end. Each
/// transfer touches every byte of every `iovec`, so one pointing outside the mapped pages is an
/// address-sanitizer error.
final class FuzzDisk: BlockStorage, @unchecked Sendable {  // safe: one thread per fuzz input
    let byteCount: UInt64
    let isReadOnly: Bool
    let discardSupport: StorageDiscard?
    private let bytes: UnsafeMutableRawBufferPointer

    /// A disk of `sectors` 512-byte sectors.
    init(sectors: UInt64, readOnly: Bool, discard: StorageDiscard?) {
        byteCount = sectors * 512
        isReadOnly = readOnly
        discardSupport = discard
        bytes = .allocate(byteCount: Int(byteCount), alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0xD5)
    }

    deinit { bytes.deallocate() }

    func read(into vectors: IOVectors, at offset: UInt64) throws(StorageError) {
        var position = Int(checking(offset, vectors.byteCount, "read"))
        for vector in vectors.vectors {
            vector.iov_base.unsafelyUnwrapped.copyMemory(from: bytes.baseAddress.unsafelyUnwrapped + position, byteCount: vector.iov_len)
            position += vector.iov_len
        }
    }

    func write(from vectors: IOVectors, at offset: UInt64) throws(StorageError) {
        require(!isReadOnly, "a write reached a read-only disk")
        var position = Int(checking(offset, vectors.byteCount, "write"))
        for vector in vectors.vectors {
            (bytes.baseAddress.unsafelyUnwrapped + position).copyMemory(from: vector.iov_base.unsafelyUnwrapped, byteCount: vector.iov_len)
            position += vector.iov_len
        }
    }

    func flush() throws(StorageError) {}

    func discard(_ range: Range<UInt64>, secure: Bool) throws(StorageError) {
        require(discardSupport != nil, "a discard reached a disk without discard")
        _ = checking(range.lowerBound, Int(range.upperBound - range.lowerBound), "discard")
    }

    /// `offset`, after checking that `count` bytes from it lie inside the disk.
    private func checking(_ offset: UInt64, _ count: Int, _ what: String) -> UInt64 {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        require(!overflow && end <= byteCount, "\(what) of \(count) bytes at \(offset) on a \(byteCount)-byte disk")
        return offset
    }
}

/// A grant table whose every page is its own exact-size heap block: a reference is refused
/// when `refused(ref)` says so, a call of more than `maximumBatch` references too; the rest map
/// to fresh pages. It counts what is mapped, so a
/// target can check that everything mapped for a request is unmapped after it.
final class FuzzGrants: GrantMapping, @unchecked Sendable {  // safe: one thread per fuzz input
    let maximumBatch: Int
    /// Mappings not yet unmapped, by base address.
    private(set) var mapped: [UnsafeMutableRawPointer: Int] = [:]
    /// Calls of ``map(_:grantedBy:access:)`` that mapped something.
    private(set) var mappings = 0
    private let refused: (GrantRef) -> Bool

    /// Grants mapped at most `maximumBatch` at a time, refusing the references `refused` picks.
    init(maximumBatch: Int, refusing refused: @escaping (GrantRef) -> Bool) {
        self.maximumBatch = maximumBatch
        self.refused = refused
    }

    deinit { for base in mapped.keys { base.deallocate() } }

    func map(_ refs: [GrantRef], grantedBy granter: DomainID, access: GrantAccess) throws(PlatformError) -> MappedPages {
        // As both real grant tables do (loopback and Xen, a batch of 256). BlkBack maps an
        // indirect request's pages (up to 8) in one call whatever the batch, so below 8 they fail.
        guard (1...maximumBatch).contains(refs.count) else { throw .invalidCount(refs.count, limit: maximumBatch) }
        if let bad = refs.first(where: refused) { throw .notGranted(bad) }
        let base = UnsafeMutableRawPointer.allocate(byteCount: refs.count * GrantPage.size, alignment: GrantPage.size)
        base.initializeMemory(as: UInt8.self, repeating: 0x6B, count: refs.count * GrantPage.size)
        mapped[base] = refs.count
        mappings += 1
        return MappedPages(base: base, refs: refs, granter: granter, access: access)
    }

    func unmap(_ pages: MappedPages) throws(PlatformError) {
        require(mapped.removeValue(forKey: pages.base) == pages.refs.count, "unmapped pages never mapped")
        pages.base.deallocate()
    }
}

extension FuzzGrants: GrantCopying {
    /// Copies to or from a fresh exact-size page filled with 0x6B (the address sanitizer catches
    /// a copy past it), refusing the references `refused` picks; a copy leaving its page, or of
    /// nothing, is a failure of the caller.
    func copy(_ copies: UnsafeBufferPointer<GrantCopy>, grantedBy granter: DomainID) throws(PlatformError) {
        for copy in copies {
            if refused(copy.ref) { throw .notGranted(copy.ref) }
            require(copy.length > 0 && Int(copy.offset) + Int(copy.length) <= GrantPage.size,
                    "a copy of \(copy.length) bytes at \(copy.offset) leaves its page")
            let page = UnsafeMutableRawPointer.allocate(byteCount: GrantPage.size, alignment: GrantPage.size)
            defer { page.deallocate() }
            page.initializeMemory(as: UInt8.self, repeating: 0x6B, count: GrantPage.size)
            switch copy.direction {
            case .fromGrant: copy.local.copyMemory(from: page + Int(copy.offset), byteCount: Int(copy.length))
            case .toGrant: (page + Int(copy.offset)).copyMemory(from: copy.local, byteCount: Int(copy.length))
            }
        }
    }
}
