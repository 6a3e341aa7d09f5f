// The backend's requests against a disk: decode, the checks against the disk, the I/O.

import BlkifABI
import BlkifRing
@testable import BlkBack
import XenPlatform
import XenStore

/// `RequestExecutor` (BlkBack) preparing and performing whatever requests a frontend wrote,
/// taken off a real ring, against a disk held in memory (`FuzzDisk`) and a grant table that
/// maps pages as exact-size heap blocks and refuses some references (`FuzzGrants`). The input
/// picks the ABI, the negotiated limits, the disk (its size, read-only or not, discard or not),
/// persistent grants or not, pages mapped or copied (the copying data path), the grant table's
/// batch size and refusals, then up to 20 ring entries of request bytes, consumed request by
/// request as a backend does.
///
/// Properties: no trap; the disk is never asked for a byte outside it, a write never reaches a
/// read-only disk, and every `iovec` lies inside the pages mapped for it (the disk touches every
/// byte of each); every page mapped for a request is unmapped after it (without persistent
/// grants), and copying maps none; every grant copy stays inside its page (the fake page is an
/// exact-size block) and the slot's buffer; each request gets a status, `okay` only for a
/// request that decodes.
enum BackendRequestsProperty {
    /// Runs the property on one input.
    static func check(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let abi = input.abi()
        let sectors = UInt64(input.int(in: 1...600))  // past 64 segments of 8 sectors, so transfers can cross the end
        let disk = FuzzDisk(sectors: sectors, readOnly: input.bool(),
                            discard: input.bool() ? StorageDiscard(granularity: 512 << UInt32(input.byte() % 4), secure: input.bool()) : nil)
        var limits = input.limits()
        limits.capacity = Sector(sectors)  // as BackendDevice negotiates it (DiskProperties.requestLimits)
        let grantChoice = input.byte()
        let refusal = UInt32(grantChoice % 16), copying = grantChoice & 0x10 != 0
        let grants = FuzzGrants(maximumBatch: input.int(in: 1...16)) { refusal != 0 && $0.rawValue % 16 == refusal }
        let persistent = input.bool() ? input.int(in: 1...8) : nil
        let executor = RequestExecutor(storage: disk, mapper: grants, copier: copying ? grants : nil, granter: DomainID(1),
                                       persistentGrants: copying ? nil : persistent, statistics: ServingStatistics())
        guard let slot = try? RequestSlot(segmentCapacity: max(limits.maximumSegments, limits.maximumIndirectSegments), copying: copying) else {
            return require(false, "no copy buffer for \(max(limits.maximumSegments, limits.maximumIndirectSegments)) segments")
        }
        let ring = FuzzRing(pages: 1, abi: abi)
        var front = FrontRing(initializing: ring.base, geometry: ring.geometry, startingAt: RingIndex(UInt32.max - 3))
        let written = input.rest()
        let entries = min(20, (written.count + abi.layout.entrySize - 1) / abi.layout.entrySize)
        guard entries > 0, let run = front.reserveRequest(entries: entries) else { return }
        for index in 0..<entries {
            let part = UnsafeRawBufferPointer(rebasing: written[(index * abi.layout.entrySize)..<min(written.count, (index + 1) * abi.layout.entrySize)])
            UnsafeMutableRawBufferPointer(start: run.entry(index), count: part.count).copyMemory(from: part)
        }
        _ = front.pushRequests()
        guard var back = try? BackRing(attachingTo: ring.base, geometry: ring.geometry, limits: limits) else {
            return require(false, "attaching to a freshly initialised ring failed")
        }
        var served = 0
        while served < entries, let copy = try? back.takeRequest() {
            served += 1
            let decodes = (try? copy.decode()) != nil
            executor.prepare(copy, into: slot)
            let status = executor.perform(slot)
            require(status != .okay || decodes, "okay for a request that does not decode")
            if executor.cache == nil { require(grants.mapped.isEmpty, "\(grants.mapped.count) mappings left after a request") }
            if copying { require(grants.mappings == 0, "the copying path mapped \(grants.mappings) pages") }
        }
    }
}
