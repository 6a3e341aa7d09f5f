// The granting side: sharing pages of the arena and ending the grants.

import BlkifABI
import Glibc
import XenStore

extension LoopbackPlatform: GrantSharing {
    /// The most pages one call shares: 256.
    public var maximumBatch: Int { 256 }

    public func share(pageCount: Int, with peer: DomainID, access: GrantAccess) throws(PlatformError) -> SharedPages {
        guard (1...maximumBatch).contains(pageCount) else { throw .invalidCount(pageCount, limit: maximumBatch) }
        return try granting.withLock { (state) throws(PlatformError) -> SharedPages in
            guard state.freeRefs.count >= pageCount, let first = state.pages.take(pageCount) else {
                throw .outOfGrantSpace(requested: pageCount)
            }
            let base = arena.base + first * GrantPage.size
            memset(base, 0, pageCount * GrantPage.size)  // no data of an earlier share leaks to this peer
            var refs: [GrantRef] = []
            for page in 0..<pageCount {
                let ref = state.freeRefs.removeLast()
                GrantEntryV1(table: table.base, ref: ref).grant(frame: UInt32(first + page), to: peer, access: access)
                refs.append(ref)
            }
            let pages = SharedPages(base: base, refs: refs, peer: peer, access: access)
            state.shares[Int(bitPattern: base)] = pages
            return pages
        }
    }

    public func endSharing(_ pages: SharedPages) throws(PlatformError) {
        try granting.withLock { (state) throws(PlatformError) in
            let key = Int(bitPattern: pages.base)
            guard let live = state.shares[key], live == pages else { throw .unknownPages(address: key) }
            if let ref = endGrants(of: live) {
                // the peer may have died without unmapping: its process's mappings are gone with it
                guard let socket = state.peers[live.peer], LoopbackWire.peerIsGone(socket) else { throw .stillMapped(ref) }
                forget(peer: live.peer, in: &state)
                if let ref = endGrants(of: live) { throw .stillMapped(ref) }
            }
            state.shares[key] = nil
            state.freeRefs.append(contentsOf: live.refs)
            state.pages.give((key - Int(bitPattern: arena.base)) / GrantPage.size, count: live.refs.count)
        }
    }

    /// Ends every grant of `pages` not in use; returns the first reference still mapped, if any
    /// (those before it stay ended: a repeated call ends the rest).
    private func endGrants(of pages: SharedPages) -> GrantRef? {
        var stillMapped: GrantRef?
        for ref in pages.refs where !GrantEntryV1(table: table.base, ref: ref).end() {
            if stillMapped == nil { stillMapped = ref }
        }
        return stillMapped
    }

    /// Drops `peer`'s connection and releases the in-use marks of its grants: its process is gone,
    /// and the kernel unmapped whatever it mapped (the hypervisor does the same for a dead domain).
    func forget(peer: DomainID, in state: inout GrantingState) {
        guard let socket = state.peers.removeValue(forKey: peer) else { return }
        state.retired.append(socket)  // the server thread closes it: it may be polling it now
        server.poke()
        for index in Self.reservedEntries..<grantEntries {
            let entry = GrantEntryV1(table: table.base, ref: GrantRef(UInt32(index)))
            let header = entry.header
            if header.domain == peer && header.flags.isInUse { entry.release([.reading, .writing]) }
        }
    }
}
