// Every way a platform call can fail, each naming the value at fault.

import BlkifABI
import XenStore

/// Why a grant-table or event-channel call failed. Cases carry the offending reference, port,
/// domain or count, and what was expected.
public enum PlatformError: Error, Hashable, Sendable, CustomStringConvertible {
    // MARK: Grants

    /// The reference is outside the granting domain's table (`entries` is the table's size).
    case referenceOutOfRange(GrantRef, entries: Int)
    /// The reference is not an active grant: never granted, reserved, or already ended.
    case notGranted(GrantRef)
    /// The reference is granted, but to another domain than the one mapping it.
    case grantedToAnotherDomain(GrantRef, grantee: DomainID, mapper: DomainID)
    /// A read-write mapping of a read-only grant.
    case readOnlyGrant(GrantRef)
    /// The grant names a page outside the granting domain's memory (a hostile or corrupt entry).
    case frameOutOfRange(GrantRef, frame: UInt32, pages: Int)
    /// The grant entry kept changing while it was being claimed (a hostile granter).
    case grantChanged(GrantRef)
    /// Ending a grant that the peer still maps (`GTF_reading` or `GTF_writing` is set).
    case stillMapped(GrantRef)
    /// A page count or reference batch of the wrong size (`limit` is the most allowed).
    case invalidCount(Int, limit: Int)
    /// Not enough free grant references or memory pages for `requested` pages.
    case outOfGrantSpace(requested: Int)
    /// Pages passed to `endSharing` or `unmap` that this table did not hand out (or already took back).
    case unknownPages(address: Int)

    // MARK: Event channels

    /// No such local port (never allocated, or closed).
    case noSuchPort(EventPort)
    /// Binding to a remote port that is not unbound and waiting for this domain.
    case portNotOffered(EventPort, by: DomainID)
    /// The other end of the channel is gone (closed its port or exited).
    case peerClosed(EventPort)
    /// The port already has an asynchronous waiter.
    case alreadyWaiting(EventPort)

    // MARK: Reaching the other domain

    /// The other domain's process cannot be reached (`reason` says why: no socket, refused, gone).
    case peerUnreachable(DomainID, reason: String)
    /// The other side sent something that breaks the loopback protocol.
    case protocolViolation(DomainID, reason: String)
    /// A system call failed (`errno` is its error number).
    case systemCall(String, errno: Int32)
    /// A grant copy that does not fit in one page (`offset + length` above 4096) or is empty.
    case invalidCopy(GrantRef, offset: Int, length: Int)
    /// The hypervisor refused a grant copy with this `GNTST_*` status (its other refusals are
    /// reported as ``notGranted(_:)`` and ``readOnlyGrant(_:)``).
    case grantCopyFailed(GrantRef, status: Int16)
    /// Xen's grant or event-channel service is not available here (no hypervisor, no driver, no library).
    case xenUnavailable(String)

    public var description: String {
        switch self {
        case .referenceOutOfRange(let ref, let entries): "\(ref) is outside the grant table (\(entries) entries)"
        case .notGranted(let ref): "\(ref) is not granted (never granted, reserved or ended)"
        case .grantedToAnotherDomain(let ref, let grantee, let mapper):
            "\(ref) is granted to domain \(grantee), not to domain \(mapper)"
        case .readOnlyGrant(let ref): "\(ref) is a read-only grant and cannot be mapped read-write"
        case .frameOutOfRange(let ref, let frame, let pages): "\(ref) names frame \(frame), outside the granter's \(pages) pages"
        case .grantChanged(let ref): "\(ref) kept changing while being mapped"
        case .stillMapped(let ref): "\(ref) is still mapped by its peer"
        case .invalidCount(let count, let limit): "\(count) pages: expected 1...\(limit)"
        case .outOfGrantSpace(let requested): "no room to grant \(requested) more pages"
        case .unknownPages(let address): "pages at 0x\(String(address, radix: 16)) were not handed out by this table"
        case .noSuchPort(let port): "no such local \(port)"
        case .portNotOffered(let port, let domain): "domain \(domain) offers no unbound \(port) to this domain"
        case .peerClosed(let port): "the peer of \(port) has closed"
        case .alreadyWaiting(let port): "\(port) already has a waiter"
        case .peerUnreachable(let domain, let reason): "domain \(domain) cannot be reached: \(reason)"
        case .protocolViolation(let domain, let reason): "domain \(domain) broke the loopback protocol: \(reason)"
        case .systemCall(let call, let errno): "\(call) failed: errno \(errno)"
        case .invalidCopy(let ref, let offset, let length): "a copy of \(length) bytes at offset \(offset) of \(ref) leaves its page"
        case .grantCopyFailed(let ref, let status): "the hypervisor refused to copy \(ref): GNTST \(status)"
        case .xenUnavailable(let reason): "Xen is not available: \(reason)"
        }
    }
}
