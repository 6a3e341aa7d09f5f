// Deciding what a request asks (after its one copy) and performing it against the storage.

import BlkifABI
import BlkifRing
import Glibc
import XenPlatform
import XenStore

/// Turns ring requests into storage calls for one ring: checks each decoded request against
/// the disk's mode and features, reaches its grants (mapped persistently or per request, or
/// copied through the slot's buffer), and performs it.
///
/// ``prepare(_:into:)`` runs on the thread that owns the ring; ``perform(_:)`` on any I/O thread.
/// Every failure becomes a status for that request: nothing a frontend sends stops the process.
final class RequestExecutor: @unchecked Sendable {  // safe: immutable; the cache and storage are thread-safe
    let storage: any BlockStorage
    private let mapper: any GrantMapping
    private let granter: DomainID
    /// The platform's grant copy, when data is copied rather than mapped.
    let copier: (any GrantCopying)?
    /// The ring's persistent grants, or nil when the frontend did not ask for them.
    let cache: GrantCache?
    /// Counts what went wrong, for the device's summary.
    let statistics: ServingStatistics

    init(storage: any BlockStorage, mapper: any GrantMapping, copier: (any GrantCopying)? = nil, granter: DomainID,
         persistentGrants: Int?, statistics: ServingStatistics) {
        self.storage = storage
        self.mapper = mapper
        self.copier = copier
        self.granter = granter
        cache = persistentGrants.map { GrantCache(capacity: $0, mapper: mapper, granter: granter, statistics: statistics) }
        self.statistics = statistics
    }

    // MARK: Preparing (the ring's thread, from the private copy)

    /// Decodes `copy` into `slot`: a request to perform, or one answered at once (malformed,
    /// unsupported, a write to a read-only disk).
    func prepare(_ copy: RequestCopy, into slot: RequestSlot) {
        slot.entryCount = copy.entryCount
        let request: BlkifRequest
        do {
            request = try copy.decode()
        } catch {
            statistics.refuse("\(error)")
            (slot.id, slot.operation) = (error.id, error.operation)
            slot.work = .answered(error.status)
            return
        }
        (slot.id, slot.operation) = (request.id, request.operation)
        slot.work = work(for: request, slot: slot)
        if case .answered(let status) = slot.work, status != .okay {
            statistics.refuse("request \(request.id.rawValue) (\(request.operation)) answered \(status)")
        }
    }

    /// What `request` asks; a write of data to a read-only disk is answered with an error.
    private func work(for request: BlkifRequest, slot: RequestSlot) -> RequestWork {
        let refusedWrite = RequestWork.answered(.error)
        switch request {
        case .read(let transfer):
            hold(transfer, in: slot)
            return .read
        case .write(let transfer):
            hold(transfer, in: slot)
            return storage.isReadOnly ? refusedWrite : .write
        case .writeBarrier(let transfer):
            hold(transfer, in: slot)
            return storage.isReadOnly ? refusedWrite : .writeBarrier
        case .flushDiskCache(let transfer):
            hold(transfer, in: slot)
            return storage.isReadOnly && slot.segmentCount > 0 ? refusedWrite : .flush
        case .discard(let discard):
            guard let support = storage.discardSupport else { return .answered(.notSupported) }
            slot.sector = discard.sector
            return .discard(sectorCount: discard.sectorCount, secure: discard.flags.contains(.secure) && support.secure)
        case .indirect(let indirect):
            slot.sector = indirect.sector
            guard indirect.segmentCount <= slot.capacity else { return .answered(.error) }
            return storage.isReadOnly && indirect.operation == .write ? refusedWrite : .indirect(indirect)
        }
    }

    /// Keeps a transfer's sector and segments in the slot (they point into the ring's copy).
    private func hold(_ transfer: Transfer, in slot: RequestSlot) {
        slot.sector = transfer.sector
        slot.segmentCount = min(transfer.segments.count, slot.capacity)
        for index in 0..<slot.segmentCount { slot.segments[index] = transfer.segments[index] }
    }

    // MARK: Performing (any I/O thread)

    /// Performs the slot's request; returns the status to answer it with.
    func perform(_ slot: RequestSlot) -> Status {
        switch slot.work {
        case .answered(let status):
            return status
        case .read:
            return transfer(slot, toDisk: false)
        case .write:
            return transfer(slot, toDisk: true)
        case .writeBarrier, .flush:
            if slot.segmentCount > 0, transfer(slot, toDisk: true) != .okay { return .error }
            return attempt("flush") { () throws(StorageError) in try storage.flush() }
        case .discard(let count, let secure):
            let start = slot.sector.rawValue * 512
            return attempt("discard") { () throws(StorageError) in try storage.discard(start..<start + count * 512, secure: secure) }
        case .indirect(let indirect):
            guard copySegments(of: indirect, into: slot) else { return .error }
            return transfer(slot, toDisk: indirect.operation == .write)
        }
    }

    /// Maps the indirect pages read-only (or copies them into the slot's buffer), copies their
    /// segments into the slot once and checks them (``IndirectTransfer/segments(copying:into:)``);
    /// false when any of it fails.
    private func copySegments(of indirect: IndirectTransfer, into slot: RequestSlot) -> Bool {
        if let copier, let buffers = slot.copyBuffers {
            let needed = indirect.segmentBytes
            for page in 0..<indirect.pageCount {
                buffers.copies[page] = GrantCopy(
                    ref: indirect.pageGrants[page], offset: 0, length: UInt16(min(GrantPage.size, needed - page * GrantPage.size)),
                    local: buffers.bounce + page * GrantPage.size, direction: .fromGrant)
            }
            guard copyGrants(UnsafeBufferPointer(start: buffers.copies, count: indirect.pageCount), with: copier) else { return false }
            return takeSegments(of: indirect, from: UnsafeRawBufferPointer(start: buffers.bounce, count: needed), into: slot)
        }
        let refs = (0..<indirect.pageCount).map { indirect.pageGrants[$0] }
        guard let pages = try? mapper.map(refs, grantedBy: granter, access: .readOnly) else {
            statistics.grantFailures.add(1, ordering: .relaxed)
            return false
        }
        statistics.grantMappings.add(1, ordering: .relaxed)
        defer { try? mapper.unmap(pages) }
        return takeSegments(of: indirect, from: UnsafeRawBufferPointer(start: pages.base, count: pages.byteCount), into: slot)
    }

    /// Copies the indirect segments out of `source` into the slot once and checks them.
    private func takeSegments(of indirect: IndirectTransfer, from source: UnsafeRawBufferPointer, into slot: RequestSlot) -> Bool {
        let list: SegmentList
        do { list = try indirect.segments(copying: source, into: slot.indirectCopy) } catch {
            statistics.refuse("\(error)")
            return false
        }
        slot.segmentCount = list.count
        for index in 0..<list.count { slot.segments[index] = list[index] }
        return true
    }

    /// Maps the slot's segments, moves the data, releases the pages (or copies it through the
    /// slot's buffer).
    private func transfer(_ slot: RequestSlot, toDisk: Bool) -> Status {
        guard slot.segmentCount > 0 else { return .okay }
        if let copier, let buffers = slot.copyBuffers { return copyTransfer(slot, through: buffers, toDisk: toDisk, with: copier) }
        guard mapPages(of: slot, writable: !toDisk) else {
            statistics.grantFailures.add(1, ordering: .relaxed)
            releasePages(of: slot)
            return .error
        }
        defer { releasePages(of: slot) }
        for index in 0..<slot.segmentCount {
            let segment = slot.segments[index]
            slot.vectors[index] = iovec(iov_base: slot.pages[index]! + Int(segment.firstSector) * 512,  // safe: mapped above
                                        iov_len: segment.sectorCount * 512)
        }
        let vectors = IOVectors(UnsafeMutableBufferPointer(start: slot.vectors, count: slot.segmentCount))
        let offset = slot.sector.rawValue * 512
        return toDisk ? attempt("write") { () throws(StorageError) in try storage.write(from: vectors, at: offset) }
            : attempt("read") { () throws(StorageError) in try storage.read(into: vectors, at: offset) }
    }

    /// Moves the slot's data through its buffer: the segments' bytes one after another, one grant
    /// copy call and one storage call (a write copies in first, a read copies out after).
    private func copyTransfer(_ slot: RequestSlot, through buffers: CopyBuffers, toDisk: Bool, with copier: any GrantCopying) -> Status {
        let copies = buffers.copies, bounce = buffers.bounce
        var bytes = 0
        for index in 0..<slot.segmentCount {
            let segment = slot.segments[index]
            let length = segment.sectorCount * 512
            copies[index] = GrantCopy(ref: segment.grant, offset: UInt16(segment.firstSector) * 512, length: UInt16(length),
                                      local: bounce + bytes, direction: toDisk ? .fromGrant : .toGrant)
            bytes += length
        }
        let segments = UnsafeBufferPointer(start: copies, count: slot.segmentCount)
        slot.vectors[0] = iovec(iov_base: bounce, iov_len: bytes)
        let vectors = IOVectors(UnsafeMutableBufferPointer(start: slot.vectors, count: 1))
        let offset = slot.sector.rawValue * 512
        if toDisk {
            guard copyGrants(segments, with: copier) else { return .error }
            return attempt("write") { () throws(StorageError) in try storage.write(from: vectors, at: offset) }
        }
        let status = attempt("read") { () throws(StorageError) in try storage.read(into: vectors, at: offset) }
        guard status == .okay else { return status }
        return copyGrants(segments, with: copier) ? .okay : .error
    }

    /// Performs `copies`; a refusal is counted as a grant failure.
    private func copyGrants(_ copies: UnsafeBufferPointer<GrantCopy>, with copier: any GrantCopying) -> Bool {
        do throws(PlatformError) {
            try copier.copy(copies, grantedBy: granter)
            statistics.grantCopies.add(copies.count, ordering: .relaxed)
            return true
        } catch {
            statistics.grantFailures.add(1, ordering: .relaxed)
            return false
        }
    }

    /// Fills `slot.pages`: from the persistent cache, or one mapping per batch of references.
    private func mapPages(of slot: RequestSlot, writable: Bool) -> Bool {
        if let cache {
            for index in 0..<slot.segmentCount {
                guard let page = try? cache.acquire(slot.segments[index].grant) else { return false }
                (slot.persistent + slot.persistentCount).initialize(to: page)
                slot.persistentCount += 1
                slot.pages[index] = page.base
            }
            return true
        }
        var first = 0
        while first < slot.segmentCount {
            let count = min(slot.segmentCount - first, mapper.maximumBatch)
            let refs = (first..<first + count).map { slot.segments[$0].grant }
            guard let pages = try? mapper.map(refs, grantedBy: granter, access: writable ? .readWrite : .readOnly) else { return false }
            statistics.grantMappings.add(1, ordering: .relaxed)
            slot.transient.append(pages)
            for index in 0..<count { slot.pages[first + index] = pages.base + index * GrantPage.size }
            first += count
        }
        return true
    }

    private func releasePages(of slot: RequestSlot) {
        if let cache {
            for index in 0..<slot.persistentCount { cache.release((slot.persistent + index).move()) }
            slot.persistentCount = 0
        }
        for pages in slot.transient { try? mapper.unmap(pages) }
        slot.transient.removeAll(keepingCapacity: true)
    }

    /// Runs a storage call; a failure is counted and answered with ``Status/error``.
    private func attempt(_ what: String, _ body: () throws(StorageError) -> Void) -> Status {
        do {
            try body()
            return .okay
        } catch {
            statistics.storageFailures.add(1, ordering: .relaxed)
            return .error
        }
    }
}
