// A Xen domain's grant table and event channels as one platform, as the drivers take them.

import BlkifABI
import XenStore

/// The grant table (both halves) and event channels of the Xen domain this process runs in
/// (dom0 or a driver domain), over Xen's libraries: the `GrantMapping & EventChannelTable`
/// a backend takes (and `GrantCopying`, which it prefers here), and the `GrantSharing` and
/// event channels a frontend takes.
///
/// The Xen counterpart of ``LoopbackPlatform``: nothing to serve and nothing to close, since
/// the hypervisor is the broker. Both parts are thread-safe.
public final class XenHostPlatform: GrantMapping, GrantCopying, GrantSharing, EventChannelTable, @unchecked Sendable {  // safe: both parts are thread-safe
    /// This domain's grant table.
    public let grants: XenGrantTable
    /// This domain's event channels.
    public let events: XenEventChannels

    /// Opens both.
    /// - Throws: ``PlatformError/xenUnavailable(_:)`` off Xen, naming the missing device or library.
    public init() throws(PlatformError) {
        grants = try XenGrantTable()
        events = try XenEventChannels()
    }

    public var maximumBatch: Int { grants.maximumBatch }

    public func share(pageCount: Int, with peer: DomainID, access: GrantAccess) throws(PlatformError) -> SharedPages {
        try grants.share(pageCount: pageCount, with: peer, access: access)
    }

    public func endSharing(_ pages: SharedPages) throws(PlatformError) { try grants.endSharing(pages) }

    public func map(_ refs: [GrantRef], grantedBy granter: DomainID, access: GrantAccess) throws(PlatformError) -> MappedPages {
        try grants.map(refs, grantedBy: granter, access: access)
    }

    public func unmap(_ pages: MappedPages) throws(PlatformError) { try grants.unmap(pages) }

    public func copy(_ copies: UnsafeBufferPointer<GrantCopy>, grantedBy granter: DomainID) throws(PlatformError) {
        try grants.copy(copies, grantedBy: granter)
    }

    public func allocateUnboundPort(for remote: DomainID) throws(PlatformError) -> XenEventPort {
        try events.allocateUnboundPort(for: remote)
    }

    public func bind(to remote: DomainID, port: EventPort) throws(PlatformError) -> XenEventPort {
        try events.bind(to: remote, port: port)
    }
}
