// One process: argument checks, limits, and NUMA placement of the arena.

import BlkifABI
import XCTest
import XenPlatform
import XenStore

final class LoopbackSetupTests: XCTestCase {
    /// Sizes out of range, batches out of range, more pages than the arena, and pages this table
    /// never handed out are refused with errors naming the value.
    func testArgumentsAndLimitsAreChecked() throws {
        let directory = try SocketDirectory()
        XCTAssertThrowsError(try LoopbackPlatform(domain: .dom0, directory: directory.path, grantEntries: 8)) {
            XCTAssertEqual($0 as? PlatformError, .invalidCount(8, limit: 1 << 16))
        }
        XCTAssertThrowsError(try LoopbackPlatform(domain: .dom0, directory: directory.path, arenaPages: 0)) {
            XCTAssertEqual($0 as? PlatformError, .invalidCount(0, limit: 1 << 18))
        }
        let platform = try LoopbackPlatform(domain: .dom0, directory: directory.path, grantEntries: 16, arenaPages: 4)
        defer { platform.close() }
        for count in [0, 257] {
            XCTAssertThrowsError(try platform.share(pageCount: count, with: DomainID(1), access: .readWrite)) {
                XCTAssertEqual($0 as? PlatformError, .invalidCount(count, limit: 256))
            }
        }
        XCTAssertThrowsError(try platform.share(pageCount: 5, with: DomainID(1), access: .readWrite)) {
            XCTAssertEqual($0 as? PlatformError, .outOfGrantSpace(requested: 5))
        }
        let pages = try platform.share(pageCount: 4, with: DomainID(1), access: .readWrite)
        XCTAssertEqual(pages.refs.count, 4)
        XCTAssertTrue(pages.refs.allSatisfy { $0.rawValue >= 8 && $0.rawValue < 16 }, "references 0-7 are reserved")
        XCTAssertThrowsError(try platform.share(pageCount: 1, with: DomainID(1), access: .readWrite)) {
            XCTAssertEqual($0 as? PlatformError, .outOfGrantSpace(requested: 1))
        }
        let forged = SharedPages(base: pages.base + GrantPage.size, refs: [pages.refs[1]], peer: DomainID(1), access: .readWrite)
        XCTAssertThrowsError(try platform.endSharing(forged)) {
            XCTAssertEqual($0 as? PlatformError, .unknownPages(address: Int(bitPattern: forged.base)))
        }
        let notMapped = MappedPages(base: pages.base, refs: pages.refs, granter: DomainID(1), access: .readOnly)
        XCTAssertThrowsError(try platform.unmap(notMapped)) {
            XCTAssertEqual($0 as? PlatformError, .unknownPages(address: Int(bitPattern: pages.base)))
        }
        try platform.endSharing(pages)
        XCTAssertEqual(try platform.share(pageCount: 4, with: DomainID(1), access: .readOnly).refs.count, 4, "ending frees the space")
    }

    /// The arena can be placed on node 0 (every Linux machine has it); a node the machine lacks
    /// is refused.
    func testTheArenaCanBePlacedOnANumaNode() throws {
        let directory = try SocketDirectory()
        let platform = try LoopbackPlatform(domain: .dom0, directory: directory.path, numaNode: 0)
        let pages = try platform.share(pageCount: 2, with: DomainID(1), access: .readWrite)
        pages.base.storeBytes(of: 7, as: UInt8.self)
        platform.close()
        XCTAssertThrowsError(try LoopbackPlatform(domain: DomainID(1), directory: directory.path, numaNode: 1000)) {
            XCTAssertEqual($0 as? PlatformError, .systemCall("mbind(node 1000)", errno: EINVAL))
        }
    }
}
