// The mapping side: checking grants as the hypervisor does and mapping the granted frames.

import BlkifABI
import CXenPlatform
import Glibc
import XenStore

extension LoopbackPlatform: GrantMapping {
    public func map(_ refs: [GrantRef], grantedBy granter: DomainID, access: GrantAccess) throws(PlatformError) -> MappedPages {
        guard (1...maximumBatch).contains(refs.count) else { throw .invalidCount(refs.count, limit: maximumBatch) }
        return try mapping.withLock { (state) throws(PlatformError) -> MappedPages in
            let connection = try connection(to: granter, in: &state)
            var frames: [UInt32] = []
            do throws(PlatformError) {
                for ref in refs {
                    frames.append(try claim(ref, through: connection, access: access))
                }
            } catch {
                release(refs.prefix(frames.count), through: connection, access: access)
                throw error
            }
            let view = frames.withUnsafeBufferPointer {
                cxp_map_frames(connection.arena, $0.baseAddress, UInt32($0.count), access.isWritable ? 1 : 0)
            }
            guard let view else {
                let error = errno
                release(refs[...], through: connection, access: access)
                throw .systemCall("mmap of \(refs.count) granted pages", errno: error)
            }
            let pages = MappedPages(base: view, refs: refs, granter: granter, access: access)
            state.mappings[Int(bitPattern: view)] = (pages, connection)
            return pages
        }
    }

    public func unmap(_ pages: MappedPages) throws(PlatformError) {
        try mapping.withLock { (state) throws(PlatformError) in
            let key = Int(bitPattern: pages.base)
            guard let (live, connection) = state.mappings[key], live == pages else { throw .unknownPages(address: key) }
            state.mappings[key] = nil
            munmap(live.base, live.byteCount)
            release(live.refs[...], through: connection, access: live.access)
            dropDeadConnections(in: &state)
        }
    }

    /// Closes the connections whose granter is gone and through which nothing is mapped any more.
    private func dropDeadConnections(in state: inout MappingState) {
        for (granter, connection) in state.granters where connection.isGone {
            if !state.mappings.values.contains(where: { $0.connection === connection }) { state.granters[granter] = nil }
        }
    }

    /// The live connection to `granter`, made (or remade, when its process is gone) as needed.
    func connection(to granter: DomainID, in state: inout MappingState) throws(PlatformError) -> PeerConnection {
        if let connection = state.granters[granter], !connection.isGone { return connection }
        state.granters[granter] = nil  // mappings through a dead connection keep it until unmapped
        let connection = try PeerConnection(to: granter, as: domain, directory: directory)
        state.granters[granter] = connection
        return connection
    }

    /// Checks `ref` in the granter's table and counts one more mapping of it; returns its frame.
    private func claim(_ ref: GrantRef, through connection: PeerConnection, access: GrantAccess) throws(PlatformError) -> UInt32 {
        guard Int(ref.rawValue) < connection.entries else { throw .referenceOutOfRange(ref, entries: connection.entries) }
        guard Int(ref.rawValue) >= Self.reservedEntries else { throw .notGranted(ref) }
        let frame = try GrantEntryV1(table: connection.table.base, ref: ref)
            .claim(ref, by: domain, access: access, pages: connection.pages)
        var pin = connection.pins[ref] ?? (0, 0)
        if access.isWritable { pin.writers += 1 } else { pin.readers += 1 }
        connection.pins[ref] = pin
        return frame
    }

    /// Counts one mapping of each of `refs` less, clearing `GTF_writing` / `GTF_reading` in the
    /// granter's table when the last writable / last mapping of a reference goes.
    private func release(_ refs: ArraySlice<GrantRef>, through connection: PeerConnection, access: GrantAccess) {
        for ref in refs {
            guard var pin = connection.pins[ref] else { continue }
            if access.isWritable { pin.writers -= 1 } else { pin.readers -= 1 }
            var marks: GrantFlags = pin.writers == 0 ? .writing : []
            if pin.readers + pin.writers == 0 { marks.insert(.reading) }
            connection.pins[ref] = pin.readers + pin.writers == 0 ? nil : pin
            if !marks.isEmpty { GrantEntryV1(table: connection.table.base, ref: ref).release(marks) }
        }
    }
}

extension LoopbackPlatform: GrantCopying {
    /// Copies through a mapping of each page made for the copy alone (checked as a mapping is:
    /// read-only for ``GrantCopy/Direction/fromGrant``, read-write for ``GrantCopy/Direction/toGrant``).
    public func copy(_ copies: UnsafeBufferPointer<GrantCopy>, grantedBy granter: DomainID) throws(PlatformError) {
        for copy in copies {
            if let error = copy.boundsError { throw error }
            let pages = try map([copy.ref], grantedBy: granter, access: copy.direction == .toGrant ? .readWrite : .readOnly)
            let page = pages.base + Int(copy.offset)
            switch copy.direction {
            case .fromGrant: copy.local.copyMemory(from: page, byteCount: Int(copy.length))
            case .toGrant: page.copyMemory(from: copy.local, byteCount: Int(copy.length))
            }
            try unmap(pages)
        }
    }
}
