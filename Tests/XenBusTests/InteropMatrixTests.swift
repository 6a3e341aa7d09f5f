// The interop matrix: four kinds of frontend × four kinds of backend × backend limits × wishes.

import BlkifABI
import XCTest
import XenBus
import XenStore

/// Which ring-size schemes a peer of each vendor speaks.
enum PeerKind: CaseIterable, CustomStringConvertible {
    case pageOrderOnly  // Linux, QEMU
    case ringPagesOnly  // the Amazon-era frontends
    case both           // the seed
    case neither        // legacy: one page, ring-ref

    var schemes: RingSizeSchemes {
        switch self {
        case .pageOrderOnly: .pageOrder
        case .ringPagesOnly: .ringPages
        case .both: .both
        case .neither: .legacy
        }
    }

    /// Whether the peer speaks page order / ring pages; the table below reasons with these only.
    var speaksPageOrder: Bool { self == .pageOrderOnly || self == .both }
    var speaksRingPages: Bool { self == .ringPagesOnly || self == .both }

    var description: String { "\(schemes)" }
}

/// One cell's expected outcome, derived from the rules and not from the code:
/// - the backend offers at most 16 pages (what it maps), in the schemes it speaks;
/// - a frontend hears the offer only through a scheme both speak, else it uses one page;
/// - it uses the smaller of what it heard and what it wishes;
/// - the ring holds the largest power of two of entries fitting after the 64-byte header
///   (`__CONST_RING_SIZE`), 112 bytes each on x86_64, 108 on x86_32; max-requests is all of them;
/// - one page is named by `ring-ref`, several by `ring-ref0`… and, for several, `ring-page-order`
///   is written by page-order frontends and `ring-pages` by ring-pages frontends.
struct ExpectedCell {
    let pages: Int
    let entries: Int
    let frontendClampedOffer: Bool

    init(front: PeerKind, back: PeerKind, backendLimit: Int, wish: Int, abi: ABI) {
        let heard = (front.speaksPageOrder && back.speaksPageOrder) || (front.speaksRingPages && back.speaksRingPages)
        let offered = heard ? min(backendLimit, 16) : 1
        pages = min(offered, wish)
        frontendClampedOffer = offered > wish
        let entrySize = abi.resolved == .x86_32 ? 108 : 112
        let fitting = (pages * 4096 - 64) / entrySize
        var entries = 1
        while entries * 2 <= fitting { entries *= 2 }
        self.entries = entries
    }
}

final class InteropMatrixTests: XCTestCase {
    static let backendLimits = [1, 2, 8, 32]
    static let frontendWishes = [1, 4, 16]

    func testEveryFrontendKindConnectsToEveryBackendKind() throws {
        var cells = 0
        for front in PeerKind.allCases {
            for back in PeerKind.allCases {
                for limit in Self.backendLimits {
                    for (wishIndex, wish) in Self.frontendWishes.enumerated() {
                        let abi: ABI = wishIndex == 1 ? .x86_32 : .native
                        try checkCell(front: front, back: back, limit: limit, wish: wish, abi: abi)
                        cells += 1
                    }
                }
            }
        }
        XCTAssertEqual(cells, 4 * 4 * 4 * 3)
    }

    private func checkCell(front: PeerKind, back: PeerKind, limit: Int, wish: Int, abi: ABI) throws {
        let label = "frontend \(front), backend \(back), backend limit \(limit), wish \(wish), \(abi)"
        let expected = ExpectedCell(front: front, back: back, backendLimit: limit, wish: wish, abi: abi)
        let fixture = try DeviceFixture()
        let backend = try fixture.backend(offer: BackendOffer(maximumRingPages: limit), schemes: back.schemes)
        let frontend = try fixture.frontend(limits: FrontendLimits(ringPages: wish, abi: abi), schemes: front.schemes)
        try connect(frontend, backend)
        guard let frontConnection = frontend.connection, let backConnection = backend.connection else {
            return XCTFail("\(label): not connected")
        }
        XCTAssertEqual(backConnection.geometry.pageCount, expected.pages, label)
        XCTAssertEqual(backConnection.geometry.entryCount, expected.entries, label)
        XCTAssertEqual(backConnection.maximumRequests, expected.entries, label)
        XCTAssertEqual(backConnection.abi, abi.resolved, label)
        XCTAssertEqual(backConnection.queues, [standInRing(queue: 0, pages: expected.pages)], label)
        XCTAssertEqual(frontConnection, backConnection, label)
        XCTAssertEqual(frontend.adjustments.contains { $0.node == "max-ring-pages" }, expected.frontendClampedOffer, label)
        XCTAssertEqual(frontend.disk, fixture.disk, label)
        try checkPublishedNodes(fixture, front: front, pages: expected.pages, label: label)
    }

    /// The frontend's nodes follow the naming rules of the cell's kind.
    private func checkPublishedNodes(_ fixture: DeviceFixture, front: PeerKind, pages: Int, label: String) throws {
        XCTAssertEqual(try fixture.frontendNode("ring-ref") != nil, pages == 1, label)
        XCTAssertEqual(try fixture.frontendNode("ring-ref0") != nil, pages > 1, label)
        if pages > 1 { XCTAssertNotNil(try fixture.frontendNode("ring-ref\(pages - 1)"), label) }
        XCTAssertNil(try fixture.frontendNode("ring-ref\(pages)"), label)
        let order = try fixture.frontendNode("ring-page-order")
        XCTAssertEqual(order, front.speaksPageOrder && pages > 1 ? String(pages.trailingZeroBitCount) : nil, label)
        XCTAssertEqual(try fixture.frontendNode("ring-pages"), front.speaksRingPages ? String(pages) : nil, label)
        XCTAssertEqual(try fixture.frontendNode("state"), "4", label)
        XCTAssertEqual(try fixture.backendNode("state"), "4", label)
    }
}
