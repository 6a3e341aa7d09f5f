// Grants over Xen's libxengnttab: gntshr shares this domain's pages, gnttab maps a peer's.

import BlkifABI
import CXenPlatform
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

extension XenGrantTable: GrantCopying {
    /// Copies with one `xengnttab_grant_copy` call (gntdev's `IOCTL_GNTDEV_GRANT_COPY`): the
    /// hypervisor copies each segment between the granted frame and this process's pages, and
    /// nothing of the granter's memory is ever mapped here.
    public func copy(_ copies: UnsafeBufferPointer<GrantCopy>, grantedBy granter: DomainID) throws(PlatformError) {
        guard !copies.isEmpty else { return }
        guard let grantCopy = libraries.gnttabGrantCopy else {
            throw .xenUnavailable("xengnttab_grant_copy is missing from \(XenLibraries.gnttabLibrary) (Xen 4.8 and later have it)")
        }
        for copy in copies { if let error = copy.boundsError { throw error } }
        let failure = withUnsafeTemporaryAllocation(of: cxp_grant_copy_segment.self, capacity: copies.count) { segments -> PlatformError? in
            for (index, copy) in copies.enumerated() { segments[index] = Self.segment(copy, grantedBy: granter) }
            guard grantCopy(gnttab, UInt32(copies.count), segments.baseAddress) == 0 else {
                return .systemCall("xengnttab_grant_copy(\(copies.count) segments from domain \(granter))", errno: errno)
            }
            guard let failed = segments.firstIndex(where: { $0.status != 0 }) else { return nil }
            return copyRefusal(copies[failed], status: segments[failed].status, grantedBy: granter)
        }
        if let failure { throw failure }
    }

    /// `copy` as libxengnttab takes it: the grant the source or the destination, as its direction says.
    private static func segment(_ copy: GrantCopy, grantedBy granter: DomainID) -> cxp_grant_copy_segment {
        let grant = cxp_copy_pointer(foreign: cxp_copy_foreign(ref: copy.ref.rawValue, offset: copy.offset, domid: granter.rawValue))
        let local = cxp_copy_pointer(virt: copy.local)
        return switch copy.direction {
        case .fromGrant: cxp_grant_copy_segment(source: grant, dest: local, len: copy.length, flags: cxp_gntcopy_source_gref, status: 0)
        case .toGrant: cxp_grant_copy_segment(source: local, dest: grant, len: copy.length, flags: cxp_gntcopy_dest_gref, status: 0)
        }
    }

    /// The error for a copy the hypervisor answered with `status` (Xen's `GNTST_*`). Xen answers
    /// a copy into a read-only grant with `GNTST_general_error`, so a refused copy into a grant
    /// is tried once the other way (one byte out of it): if that works, the grant is read-only.
    /// Only the failure path pays for this.
    private func copyRefusal(_ copy: GrantCopy, status: Int16, grantedBy granter: DomainID) -> PlatformError {
        switch status {
        case -3: return .notGranted(copy.ref)  // GNTST_bad_gntref
        case -8 where copy.direction == .toGrant: return .readOnlyGrant(copy.ref)  // GNTST_permission_denied
        case -1 where copy.direction == .toGrant:  // GNTST_general_error
            var byte: UInt8 = 0
            let readable = withUnsafeMutableBytes(of: &byte) { local in
                var probe = Self.segment(GrantCopy(ref: copy.ref, offset: copy.offset, length: 1, local: local.baseAddress!, direction: .fromGrant),
                                         grantedBy: granter)  // safe: a one-byte buffer has an address
                return libraries.gnttabGrantCopy?(gnttab, 1, &probe) == 0 && probe.status == 0
            }
            return readable ? .readOnlyGrant(copy.ref) : .grantCopyFailed(copy.ref, status: status)
        default: return .grantCopyFailed(copy.ref, status: status)
        }
    }
}
