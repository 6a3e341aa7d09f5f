// Persistent grants: a frontend's pages mapped once and kept, least recently used first out.

import BlkifABI
import Synchronization
import XenPlatform
import XenStore

/// A granted page mapped for one request: kept in the cache (persistent) or mapped for this
/// request only (the cache was full of pages in use).
struct GrantedPage {
    /// The page in this process.
    let base: UnsafeMutableRawPointer
    /// The reference it was mapped from.
    let ref: GrantRef
    /// The mapping to undo after the request, when it is not kept.
    let transient: MappedPages?
}

/// The persistent grants of one ring: each reference is mapped read-write once and kept, up to
/// ``capacity`` mappings; the least recently used idle one is unmapped to make room.
///
/// A reference that an in-flight request already holds is refused (a frontend that hands the
/// same page to two requests at once breaks the persistent-grant contract); when every mapping
/// is in use, a new reference is mapped for its request only. Thread-safe.
final class GrantCache: @unchecked Sendable {  // safe: the books are behind the mutex; mapper is Sendable
    /// One kept mapping.
    private struct Entry {
        let pages: MappedPages
        var inUse: Bool
        var lastUse: UInt64
    }

    /// Why a reference could not be used persistently.
    enum Refusal: Error, CustomStringConvertible {
        /// Another in-flight request holds it.
        case inUse(GrantRef)
        /// The platform refused to map it.
        case mapping(PlatformError)

        var description: String {
            switch self {
            case .inUse(let ref): "\(ref) is already in use by another request (persistent grants)"
            case .mapping(let error): "\(error)"
            }
        }
    }

    /// Most mappings kept (Linux keeps 1056 per ring by default).
    let capacity: Int
    private let mapper: any GrantMapping
    private let granter: DomainID
    private let statistics: ServingStatistics
    private let books: Mutex<Books>
    private let clock = Atomic<UInt64>(0)

    /// The kept mappings in fixed places, found by reference. Sized once: a hit or a release
    /// only reads the index and writes a place in the array, so it allocates nothing.
    private struct Books {
        var places: [GrantRef: Int]
        var entries: [Entry?]
        var free: [Int]
    }

    init(capacity: Int, mapper: any GrantMapping, granter: DomainID, statistics: ServingStatistics) {
        self.capacity = max(capacity, 1)
        self.mapper = mapper
        self.granter = granter
        self.statistics = statistics
        var places: [GrantRef: Int] = [:]
        places.reserveCapacity(self.capacity)
        books = Mutex(Books(places: places, entries: Array(repeating: nil, count: self.capacity),
                            free: Array((0..<self.capacity).reversed())))
    }

    /// Mappings kept now.
    var count: Int { books.withLock { $0.places.count } }

    /// The page of `ref`, marked in use until ``release(_:)``.
    func acquire(_ ref: GrantRef) throws(Refusal) -> GrantedPage {
        let tick = clock.add(1, ordering: .relaxed).newValue
        return try books.withLock { (books) throws(Refusal) -> GrantedPage in
            if let place = books.places[ref], let entry = books.entries[place] {
                guard !entry.inUse else { throw .inUse(ref) }
                books.entries[place]!.inUse = true  // safe: just read
                books.entries[place]!.lastUse = tick
                return GrantedPage(base: entry.pages.base, ref: ref, transient: nil)
            }
            let pages: MappedPages
            do throws(PlatformError) { pages = try mapper.map([ref], grantedBy: granter, access: .readWrite) } catch { throw .mapping(error) }
            statistics.grantMappings.add(1, ordering: .relaxed)
            guard let place = books.free.popLast() ?? evictLeastRecentlyUsed(from: &books) else {
                return GrantedPage(base: pages.base, ref: ref, transient: pages)
            }
            books.entries[place] = Entry(pages: pages, inUse: true, lastUse: tick)
            books.places[ref] = place
            return GrantedPage(base: pages.base, ref: ref, transient: nil)
        }
    }

    /// Ends one request's use of `page`.
    func release(_ page: GrantedPage) {
        if let transient = page.transient {
            try? mapper.unmap(transient)
            return
        }
        books.withLock { books in
            if let place = books.places[page.ref] { books.entries[place]?.inUse = false }
        }
    }

    /// Unmaps every kept mapping (the ring is disconnecting; no request is in flight).
    func removeAll() {
        books.withLock { books in
            for case let entry? in books.entries { try? mapper.unmap(entry.pages) }
            books.places.removeAll()
            books.entries = Array(repeating: nil, count: capacity)
            books.free = Array((0..<capacity).reversed())
        }
    }

    /// Unmaps the idle mapping used longest ago and returns its place; nil when every mapping is in use.
    private func evictLeastRecentlyUsed(from books: inout Books) -> Int? {
        var oldest: (place: Int, tick: UInt64)?
        for (place, entry) in books.entries.enumerated() {
            guard let entry, !entry.inUse, entry.lastUse < (oldest?.tick ?? .max) else { continue }
            oldest = (place, entry.lastUse)
        }
        guard let oldest, let entry = books.entries[oldest.place] else { return nil }
        try? mapper.unmap(entry.pages)
        statistics.grantEvictions.add(1, ordering: .relaxed)
        books.places[entry.pages.refs[0]] = nil
        books.entries[oldest.place] = nil
        return oldest.place
    }
}
