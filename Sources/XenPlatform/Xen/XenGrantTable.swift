// Grants over Xen's libxengnttab: gntshr shares this domain's pages, gnttab maps a peer's.

import BlkifABI
import Glibc
import Synchronization
import XenStore

/// The grant table of a real Xen domain (dom0 or a driver domain): both halves of Xen's
/// `libxengnttab` (`/dev/xen/gntalloc` to share, `/dev/xen/gntdev` to map).
///
/// Xen's own semantics apply where they differ from the loopback's: ``endSharing(_:)`` unshares
/// at once and the kernel keeps a grant the peer still maps until it unmaps, so it never reports
/// ``PlatformError/stillMapped(_:)``; a mapping of a bad reference fails as a whole, and the
/// error names the reference that failed, found by mapping them one by one (the library gives
/// only errno).
public final class XenGrantTable: GrantSharing, GrantMapping, @unchecked Sendable {  // safe: handles are thread-safe per the library
    private let libraries: XenLibraries
    private let gnttab: OpaquePointer
    private let gntshr: OpaquePointer
    private let live = Mutex<(shares: [Int: SharedPages], mappings: [Int: MappedPages])>(([:], [:]))

    /// The most pages or references one call handles: 256.
    public var maximumBatch: Int { 256 }

    /// Opens both halves of the grant table.
    /// - Throws: ``PlatformError/xenUnavailable(_:)`` when `/dev/xen/*` or the libraries are absent,
    ///   naming which, or when the library cannot open the device.
    public convenience init() throws(PlatformError) {
        try self.init(libraries: XenLibraries.load(requiring: XenLibraries.grantDevices))
    }

    /// Opens both halves through `libraries` (already loaded; the devices are not checked first).
    init(libraries: XenLibraries) throws(PlatformError) {
        self.libraries = libraries
        guard let gnttab = libraries.gnttabOpen(nil, 0) else {
            throw .xenUnavailable("xengnttab_open cannot open /dev/xen/gntdev: errno \(errno)")
        }
        guard let gntshr = libraries.gntshrOpen(nil, 0) else {
            _ = libraries.gnttabClose(gnttab)
            throw .xenUnavailable("xengntshr_open cannot open /dev/xen/gntalloc: errno \(errno)")
        }
        self.gnttab = gnttab
        self.gntshr = gntshr
    }

    public func share(pageCount: Int, with peer: DomainID, access: GrantAccess) throws(PlatformError) -> SharedPages {
        guard (1...maximumBatch).contains(pageCount) else { throw .invalidCount(pageCount, limit: maximumBatch) }
        var raw = [UInt32](repeating: 0, count: pageCount)
        let base = libraries.gntshrSharePages(gntshr, UInt32(peer.rawValue), Int32(pageCount), &raw, access.isWritable ? 1 : 0)
        guard let base else { throw .systemCall("xengntshr_share_pages(\(pageCount) pages to domain \(peer))", errno: errno) }
        let pages = SharedPages(base: base, refs: raw.map { GrantRef($0) }, peer: peer, access: access)
        live.withLock { $0.shares[Int(bitPattern: base)] = pages }
        return pages
    }

    public func endSharing(_ pages: SharedPages) throws(PlatformError) {
        let key = Int(bitPattern: pages.base)
        guard live.withLock({ $0.shares[key] == pages ? $0.shares.removeValue(forKey: key) : nil }) != nil else {
            throw .unknownPages(address: key)
        }
        guard libraries.gntshrUnshare(gntshr, pages.base, UInt32(pages.refs.count)) == 0 else {
            throw .systemCall("xengntshr_unshare", errno: errno)
        }
    }

    public func map(_ refs: [GrantRef], grantedBy granter: DomainID, access: GrantAccess) throws(PlatformError) -> MappedPages {
        guard (1...maximumBatch).contains(refs.count) else { throw .invalidCount(refs.count, limit: maximumBatch) }
        var raw = refs.map(\.rawValue)
        let protection = access.isWritable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let base = libraries.gnttabMapDomainGrantRefs(gnttab, UInt32(refs.count), UInt32(granter.rawValue), &raw, protection) else {
            let error = errno
            guard error == EINVAL || error == EFAULT else { throw .systemCall("xengnttab_map_domain_grant_refs", errno: error) }
            throw diagnoseRefusal(of: refs, grantedBy: granter, access: access)
        }
        let pages = MappedPages(base: base, refs: refs, granter: granter, access: access)
        live.withLock { $0.mappings[Int(bitPattern: base)] = pages }
        return pages
    }

    /// Why the hypervisor refused to map `refs`, found the slow way since the library reports
    /// only errno: the first reference that will not map alone, and whether it maps read-only
    /// (a read-only grant mapped read-write) or not at all. Only on the failure path.
    private func diagnoseRefusal(of refs: [GrantRef], grantedBy granter: DomainID, access: GrantAccess) -> PlatformError {
        func maps(_ ref: GrantRef, _ protection: Int32) -> Bool {
            var raw = ref.rawValue
            guard let base = libraries.gnttabMapDomainGrantRefs(gnttab, 1, UInt32(granter.rawValue), &raw, protection) else { return false }
            _ = libraries.gnttabUnmap(gnttab, base, 1)
            return true
        }
        let protection = access.isWritable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let culprit = refs.first(where: { !maps($0, protection) }) else { return .notGranted(refs[0]) }  // it mapped now: a race
        return access.isWritable && maps(culprit, PROT_READ) ? .readOnlyGrant(culprit) : .notGranted(culprit)
    }

    public func unmap(_ pages: MappedPages) throws(PlatformError) {
        let key = Int(bitPattern: pages.base)
        guard live.withLock({ $0.mappings[key] == pages ? $0.mappings.removeValue(forKey: key) : nil }) != nil else {
            throw .unknownPages(address: key)
        }
        guard libraries.gnttabUnmap(gnttab, pages.base, UInt32(pages.refs.count)) == 0 else {
            throw .systemCall("xengnttab_unmap", errno: errno)
        }
    }

    deinit {
        _ = libraries.gntshrClose(gntshr)
        _ = libraries.gnttabClose(gnttab)
    }
}
