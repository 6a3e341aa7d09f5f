// One object for a Xen domain's grant table and event channels, as the drivers take them.
import BlkifABI

import XenPlatform
import XenStore

/// dom0's grant table (both halves) and event channels over Xen's libraries, as the single
/// `GrantMapping & EventChannelTable` platform that ``BackendDevice`` takes.
final class XenDomainPlatform: GrantMapping, GrantSharing, EventChannelTable, @unchecked Sendable {  // safe: both parts are thread-safe
    let grants: XenGrantTable
    let events: XenEventChannels

    /// Opens both. - Throws: ``PlatformError/xenUnavailable(_:)`` off Xen.
    init() throws(PlatformError) {
        grants = try XenGrantTable()
        events = try XenEventChannels()
    }

    var maximumBatch: Int { grants.maximumBatch }

    func share(pageCount: Int, with peer: DomainID, access: GrantAccess) throws(PlatformError) -> SharedPages {
        try grants.share(pageCount: pageCount, with: peer, access: access)
    }

    func endSharing(_ pages: SharedPages) throws(PlatformError) { try grants.endSharing(pages) }

    func map(_ refs: [GrantRef], grantedBy granter: DomainID, access: GrantAccess) throws(PlatformError) -> MappedPages {
        try grants.map(refs, grantedBy: granter, access: access)
    }

    func unmap(_ pages: MappedPages) throws(PlatformError) { try grants.unmap(pages) }

    func allocateUnboundPort(for remote: DomainID) throws(PlatformError) -> XenEventPort {
        try events.allocateUnboundPort(for: remote)
    }

    func bind(to remote: DomainID, port: EventPort) throws(PlatformError) -> XenEventPort {
        try events.bind(to: remote, port: port)
    }
}
