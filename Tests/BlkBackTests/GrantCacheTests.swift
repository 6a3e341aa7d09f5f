// Persistent grants: kept mappings, least recently used out, a reference in use refused.

@testable import BlkBack
import BlkifABI
import Synchronization
import XCTest
import XenPlatform
import XenStore

/// A grant table that hands out private pages and counts maps and unmaps.
final class CountingMapper: GrantMapping, @unchecked Sendable {
    let maximumBatch = 16
    let live = Mutex<[Int: MappedPages]>([:])
    let maps = Atomic<Int>(0), unmaps = Atomic<Int>(0)
    /// References that fail to map.
    var refusing: Set<GrantRef> = []

    func map(_ refs: [GrantRef], grantedBy granter: DomainID, access: GrantAccess) throws(PlatformError) -> MappedPages {
        if let bad = refs.first(where: refusing.contains) { throw .notGranted(bad) }
        let base = UnsafeMutableRawPointer.allocate(byteCount: refs.count * 4096, alignment: 4096)
        let pages = MappedPages(base: base, refs: refs, granter: granter, access: access)
        live.withLock { $0[Int(bitPattern: base)] = pages }
        maps.add(1, ordering: .relaxed)
        return pages
    }

    func unmap(_ pages: MappedPages) throws(PlatformError) {
        guard live.withLock({ $0.removeValue(forKey: Int(bitPattern: pages.base)) }) != nil else {
            throw .unknownPages(address: Int(bitPattern: pages.base))
        }
        pages.base.deallocate()
        unmaps.add(1, ordering: .relaxed)
    }

    var mapped: Int { live.withLock { $0.count } }
}

final class GrantCacheTests: XCTestCase {
    func testAReferenceIsMappedOnceAndKept() throws {
        let mapper = CountingMapper()
        let cache = GrantCache(capacity: 4, mapper: mapper, granter: DomainID(1), statistics: ServingStatistics())
        for _ in 0..<10 {
            let page = try cache.acquire(GrantRef(8))
            XCTAssertNil(page.transient)
            cache.release(page)
        }
        XCTAssertEqual(mapper.maps.load(ordering: .relaxed), 1)
        cache.removeAll()
        XCTAssertEqual(mapper.mapped, 0)
    }

    func testTheLeastRecentlyUsedIdleMappingMakesRoom() throws {
        let mapper = CountingMapper()
        let statistics = ServingStatistics()
        let cache = GrantCache(capacity: 3, mapper: mapper, granter: DomainID(1), statistics: statistics)
        for ref in [8, 9, 10, 8] as [UInt32] { cache.release(try cache.acquire(GrantRef(ref))) }  // 9 is now the oldest
        cache.release(try cache.acquire(GrantRef(11)))
        XCTAssertEqual(cache.count, 3)
        XCTAssertEqual(mapper.mapped, 3)
        let before = mapper.maps.load(ordering: .relaxed)
        cache.release(try cache.acquire(GrantRef(8)))  // still kept
        XCTAssertEqual(mapper.maps.load(ordering: .relaxed), before)
        cache.release(try cache.acquire(GrantRef(9)))  // was evicted: mapped again
        XCTAssertEqual(mapper.maps.load(ordering: .relaxed), before + 1)
        XCTAssertEqual(statistics.grantMappings.load(ordering: .relaxed), 5, "8, 9, 10, 11, then 9 again")
        XCTAssertEqual(statistics.grantEvictions.load(ordering: .relaxed), 2, "9 for 11, then 10 for 9")
        cache.removeAll()
        XCTAssertEqual(mapper.mapped, 0)
    }

    func testAReferenceInUseIsRefusedAndAFullCacheOfBusyPagesMapsForOneRequest() throws {
        let mapper = CountingMapper()
        let cache = GrantCache(capacity: 2, mapper: mapper, granter: DomainID(1), statistics: ServingStatistics())
        let first = try cache.acquire(GrantRef(8)), second = try cache.acquire(GrantRef(9))
        XCTAssertThrowsError(try cache.acquire(GrantRef(8))) { error in
            XCTAssertTrue("\(error)".contains("gref 8"), "\(error)")
        }
        let third = try cache.acquire(GrantRef(10))
        XCTAssertNotNil(third.transient, "every kept mapping is busy: mapped for this request only")
        cache.release(third)
        XCTAssertEqual(mapper.mapped, 2)
        cache.release(first)
        cache.release(second)
        cache.removeAll()
        XCTAssertEqual(mapper.mapped, 0)
    }

    func testAGrantThatFailsToMapIsReportedNotKept() {
        let mapper = CountingMapper()
        mapper.refusing = [GrantRef(12)]
        let cache = GrantCache(capacity: 2, mapper: mapper, granter: DomainID(1), statistics: ServingStatistics())
        XCTAssertThrowsError(try cache.acquire(GrantRef(12)))
        XCTAssertEqual(cache.count, 0)
    }
}
