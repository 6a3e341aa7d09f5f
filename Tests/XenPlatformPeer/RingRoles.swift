// BlkifRing's front and back over pages granted and mapped through XenPlatform.

import BlkifABI
import BlkifRing
import XenPlatform

/// Request `index` of the ring run, and the status its response carries: both ends derive them.
struct RingTraffic {
    let index: UInt64
    var operation: Operation { index % 2 == 0 ? .read : .write }
    var segmentCount: Int { 1 + Int(index % 11) }
    var id: RequestID { RequestID(index &* 0x9E37_79B9_7F4A_7C15) }
    var sector: Sector { Sector(index &* 8) }
    var status: Status { index % 3 == 0 ? .error : .okay }
    func segment(_ j: Int) -> Segment {
        Segment(grant: GrantRef(UInt32(truncatingIfNeeded: index &+ UInt64(j))), firstSector: UInt8(j % 8), lastSector: 7)
    }
}

/// The two ends of the ring run. Each waits on its port with a bound; a timeout is a lost wakeup.
enum RingRoles {
    static let wakeupTimeout = Duration.seconds(10)
    static let handle = DeviceHandle(7)

    /// Initialises the ring over `pages` shared pages at `base`, sends `requests` requests, checks
    /// every response in order.
    static func front(base: UnsafeMutableRawPointer, pages: Int, port: LoopbackEventPort, requests: Int) throws -> String {
        let geometry = try RingGeometry(pageCount: pages, abi: .x86_64)
        var ring = FrontRing(initializing: base, geometry: geometry)
        var sent: UInt64 = 0, done: UInt64 = 0, waits = 0
        let total = UInt64(requests)
        while done < total {
            var made = 0
            while sent < total, let run = ring.reserveRequest(entries: 1) {
                let request = RingTraffic(index: sent)
                run.writeRequest(operation: request.operation, handle: handle, id: request.id, sector: request.sector,
                                 segments: (0..<request.segmentCount).map(request.segment))
                sent += 1
                made += 1
            }
            if made > 0, ring.pushRequests() == .notifyPeer { port.notify() }  // through BlkifRing's EventChannel seam
            var got = 0
            while let response = try ring.takeResponse(entries: { _ in 1 }) {
                let expected = RingTraffic(index: done)
                guard response.id == expected.id, response.status == expected.status, response.operation == expected.operation else {
                    throw PeerFailure("response \(done): \(response), expected id \(expected.id) status \(expected.status)")
                }
                done += 1
                got += 1
            }
            if made > 0 || got > 0 { continue }
            if try !ring.finalCheckForResponses() {
                waits += 1
                guard try port.waitForEvent(timeout: wakeupTimeout) else { throw PeerFailure("front: lost wakeup after \(done) responses") }
            }
        }
        return "front \(done) responses notifications \(port.notificationsSent) waits \(waits)"
    }

    /// Attaches to the ring the front initialised, checks every request in order, answers each.
    static func back(base: UnsafeMutableRawPointer, pages: Int, port: LoopbackEventPort, requests: Int) throws -> String {
        let geometry = try RingGeometry(pageCount: pages, abi: .x86_64)
        var ring = try BackRing(attachingTo: base, geometry: geometry, limits: RequestLimits(maximumSegments: 11))
        var answered: UInt64 = 0, waits = 0
        let total = UInt64(requests)
        while answered < total {
            var got = 0
            while answered < total, let copy = try ring.takeRequest() {
                try check(try copy.decode(), against: RingTraffic(index: answered))
                let expected = RingTraffic(index: answered)
                ring.writeResponse(Response(id: expected.id, operation: expected.operation, status: expected.status), entries: 1)
                answered += 1
                got += 1
            }
            if got > 0 {
                if ring.pushResponses() == .notifyPeer { try port.signal() }
                continue
            }
            if try !ring.finalCheckForRequests() {
                waits += 1
                guard try port.waitForEvent(timeout: wakeupTimeout) else { throw PeerFailure("back: lost wakeup after \(answered) requests") }
            }
        }
        return "back \(answered) requests notifications \(port.notificationsSent) waits \(waits)"
    }

    private static func check(_ request: BlkifRequest, against expected: RingTraffic) throws {
        let transfer: Transfer
        switch request {
        case .read(let read) where expected.operation == .read: transfer = read
        case .write(let write) where expected.operation == .write: transfer = write
        default: throw PeerFailure("request \(expected.index): \(request.operation), expected \(expected.operation)")
        }
        guard transfer.id == expected.id, transfer.sector == expected.sector, transfer.handle == handle,
              transfer.segments.count == expected.segmentCount,
              transfer.segments.indices.allSatisfy({ transfer.segments[$0] == expected.segment($0) })
        else { throw PeerFailure("request \(expected.index) differs from the workload: \(request)") }
    }
}
