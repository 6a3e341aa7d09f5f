// The grant table's two halves: the granting side shares pages, the mapping side maps them.

import BlkifABI
import XenStore

/// Pages of this domain's memory shared with one peer domain, one grant reference per page.
///
/// Invariant: `refs.count` pages of ``GrantPage/size`` bytes start at `base`, contiguous, page
/// `i` granted as `refs[i]`. Valid until passed to ``GrantSharing/endSharing(_:)``.
public struct SharedPages: @unchecked Sendable, Hashable {
    /// The first page, in this process.
    public let base: UnsafeMutableRawPointer
    /// The reference of each page, in order: what XenStore's `ring-ref` nodes carry.
    public let refs: [GrantRef]
    /// The domain the pages are granted to.
    public let peer: DomainID
    /// What the peer may do with them.
    public let access: GrantAccess

    /// Pages described by their parts (for implementations of ``GrantSharing``).
    public init(base: UnsafeMutableRawPointer, refs: [GrantRef], peer: DomainID, access: GrantAccess) {
        self.base = base
        self.refs = refs
        self.peer = peer
        self.access = access
    }

    /// Bytes shared.
    public var byteCount: Int { refs.count * GrantPage.size }
}

/// Another domain's granted pages mapped into this process as one contiguous, zero-copy view.
///
/// Invariant: `refs.count` pages start at `base`, page `i` being `refs[i]`. A read-only mapping
/// is `PROT_READ`: writing through it faults. Valid until passed to ``GrantMapping/unmap(_:)``.
public struct MappedPages: @unchecked Sendable, Hashable {
    /// The first mapped page.
    public let base: UnsafeMutableRawPointer
    /// The references mapped, in order.
    public let refs: [GrantRef]
    /// The domain that granted them.
    public let granter: DomainID
    /// How they are mapped.
    public let access: GrantAccess

    /// A mapping described by its parts (for implementations of ``GrantMapping``).
    public init(base: UnsafeMutableRawPointer, refs: [GrantRef], granter: DomainID, access: GrantAccess) {
        self.base = base
        self.refs = refs
        self.granter = granter
        self.access = access
    }

    /// Bytes mapped.
    public var byteCount: Int { refs.count * GrantPage.size }
}

/// The granting half of a grant table (Xen's `gntshr`): shares fresh pages of this domain's
/// memory with a peer domain and ends the sharing.
public protocol GrantSharing: AnyObject, Sendable {
    /// The most pages one ``share(pageCount:with:access:)`` call may grant.
    var maximumBatch: Int { get }

    /// Allocates `pageCount` zeroed pages and grants each to `peer` with `access`.
    /// - Throws: ``PlatformError/invalidCount(_:limit:)``, ``PlatformError/outOfGrantSpace(requested:)``.
    func share(pageCount: Int, with peer: DomainID, access: GrantAccess) throws(PlatformError) -> SharedPages

    /// Ends the grants of `pages` and frees them, but only once the peer maps none of them.
    /// - Throws: ``PlatformError/stillMapped(_:)`` naming the first reference still mapped (the
    ///   pages stay shared and the call can be repeated), ``PlatformError/unknownPages(address:)``.
    func endSharing(_ pages: SharedPages) throws(PlatformError)
}

/// The mapping half of a grant table (Xen's `gnttab`): maps references another domain granted
/// this one, as the hypervisor checks them.
public protocol GrantMapping: AnyObject, Sendable {
    /// The most references one ``map(_:grantedBy:access:)`` call may map.
    var maximumBatch: Int { get }

    /// Maps `refs`, granted by `granter`, into one contiguous view in order (as a backend maps
    /// `ring-ref0...N-1`).
    /// - Throws: a ``PlatformError`` naming the first reference that is out of range, not
    ///   granted, granted to another domain, or read-only when `access` is read-write; nothing
    ///   stays mapped or claimed then.
    func map(_ refs: [GrantRef], grantedBy granter: DomainID, access: GrantAccess) throws(PlatformError) -> MappedPages

    /// Unmaps pages that ``map(_:grantedBy:access:)`` returned, releasing the grants.
    func unmap(_ pages: MappedPages) throws(PlatformError)
}

/// One copy between this process's memory and part of a page another domain granted this one:
/// the unit of ``GrantCopying/copy(_:grantedBy:)``, Xen's `GNTTABOP_copy` segment.
///
/// Invariant: `offset + length` is at most ``GrantPage/size``; `local` has `length` bytes.
public struct GrantCopy: @unchecked Sendable {  // safe: a plain description; the caller owns `local`
    /// Which way the bytes go.
    public enum Direction: Sendable {
        /// From the granted page into `local` (the peer's data comes in: a write to the disk).
        case fromGrant
        /// From `local` into the granted page (data goes out to the peer: a read from the disk).
        /// The grant must be writable.
        case toGrant
    }

    /// The granted page.
    public var ref: GrantRef
    /// The first byte in the granted page.
    public var offset: UInt16
    /// Bytes copied.
    public var length: UInt16
    /// The bytes in this process.
    public var local: UnsafeMutableRawPointer
    /// Which way they go.
    public var direction: Direction

    /// One copy of `length` bytes at `offset` in `ref`'s page, to or from `local`.
    public init(ref: GrantRef, offset: UInt16, length: UInt16, local: UnsafeMutableRawPointer, direction: Direction) {
        self.ref = ref
        self.offset = offset
        self.length = length
        self.local = local
        self.direction = direction
    }
}

/// Copies between this process's memory and pages other domains granted it, without mapping
/// them into the process (Xen's `GNTTABOP_copy`, through gntdev: how QEMU's xen-block moves a
/// guest's data). The hypervisor checks each grant as it would for a mapping.
public protocol GrantCopying: AnyObject, Sendable {
    /// Performs `copies` of pages granted by `granter`, in order, in as few calls as it can.
    /// - Throws: a ``PlatformError`` naming the first copy's reference that was refused (not
    ///   granted, read-only for ``GrantCopy/Direction/toGrant``) or a bounds violation
    ///   (``PlatformError/invalidCopy(_:offset:length:)``); copies before it may have been made.
    func copy(_ copies: UnsafeBufferPointer<GrantCopy>, grantedBy granter: DomainID) throws(PlatformError)
}

extension GrantCopy {
    /// Whether the copy stays inside one granted page; the error for it otherwise.
    var boundsError: PlatformError? {
        Int(offset) + Int(length) <= GrantPage.size && length > 0 ? nil : .invalidCopy(ref, offset: Int(offset), length: Int(length))
    }
}
