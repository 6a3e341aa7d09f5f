// A request slot's copy buffers: present exactly when copying, usable to their last byte, and
// a refused reservation is an error naming its size, never a slot that cannot do its work.

@testable import BlkBack
import Glibc
import XCTest
import XenPlatform

final class RequestSlotTests: XCTestCase {
    func testACopyingSlotHasBuffersForEverySegmentAndAMappingSlotHasNone() throws {
        let copying = try RequestSlot(segmentCapacity: 11, copying: true)
        let buffers = try XCTUnwrap(copying.copyBuffers)
        XCTAssertEqual(buffers.byteCount, 11 * GrantPage.size)
        // Every page of the reservation is memory: the first and the last byte take a write.
        buffers.bounce.storeBytes(of: 0xA5, as: UInt8.self)
        buffers.bounce.storeBytes(of: 0x5A, toByteOffset: buffers.byteCount - 1, as: UInt8.self)
        XCTAssertEqual(buffers.bounce.load(fromByteOffset: buffers.byteCount - 1, as: UInt8.self), 0x5A)

        XCTAssertNil(try RequestSlot(segmentCapacity: 11, copying: false).copyBuffers)
    }

    func testARefusedReservationThrowsWithItsSize() {
        // 2^40 pages (4 PiB) is beyond any x86-64 or arm64 process's address space.
        let pages = 1 << 40
        XCTAssertThrowsError(try RequestSlot(segmentCapacity: pages, copying: true)) { error in
            XCTAssertEqual(error as? PlatformError, .systemCall("mmap of \(pages * GrantPage.size) bytes for a copy buffer", errno: ENOMEM))
        }
        // A count whose size does not fit in an Int is refused before any call.
        XCTAssertThrowsError(try RequestSlot(segmentCapacity: Int.max / 2, copying: true)) { error in
            XCTAssertEqual(error as? PlatformError, .systemCall("mmap of \(Int.max / 2) pages for a copy buffer", errno: EOVERFLOW))
        }
    }
}
