// The README's XenBus example, as written there.

import BlkifABI
import XCTest
import XenBus
import XenStore

final class XenBusReadmeExampleTests: XCTestCase {
    func testReadmeExample() throws {
        let dom0 = InMemoryXenStore(), guest = dom0.session(as: DomainID(5))   // or XenStoreClient sessions
        let device = VirtualBlockDevice(frontendDomain: DomainID(5), id: DeviceID(51712))   // xvda of domain 5
        try Toolstack.createDevice(device, configuration: DeviceConfiguration(params: "/images/disk.img"), in: dom0)
        let back = BackendDriver(store: dom0, device: device, offer: BackendOffer(maximumRingPages: 8),
                                 disk: DiskProperties(sectors: Sector(2048)))
        let front = FrontendDriver(store: guest, device: device, limits: FrontendLimits(ringPages: 4)) { choice in
            // Grant the ring pages here: one QueueRing (grant references, event channel) per queue.
            [QueueRing(ringReferences: (0..<UInt32(choice.geometry.pageCount)).map { GrantRef($0) }, eventChannel: EventChannelPort(7))]
        }
        try back.start(); try front.start()
        try back.advance(); try front.advance(); try back.advance(); try front.advance()   // or run(until:timeout:) on a thread each
        let geometry = front.connection!.geometry                    // 4 pages, 128 entries; == back.connection!.geometry
        XCTAssertEqual(geometry.pageCount, 4)
        XCTAssertEqual(geometry.entryCount, 128)
        XCTAssertEqual(geometry, back.connection?.geometry)
        XCTAssertEqual(front.state, XenbusState.connected)
        XCTAssertEqual(back.state, XenbusState.connected)
    }
}
