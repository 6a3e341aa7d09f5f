// One request and its response through a one-page ring, both ends in this process: the smallest
// complete use of BlkifABI and BlkifRing from another package.

import BlkifABI
import BlkifRing

let geometry = try RingGeometry(pageCount: 1, abi: .native)
let memory = UnsafeMutableRawPointer.allocate(byteCount: geometry.byteCount, alignment: RingGeometry.pageSize)
defer { memory.deallocate() }

var front = FrontRing(initializing: memory, geometry: geometry)
var back = try BackRing(attachingTo: memory, geometry: geometry, limits: RequestLimits(maximumSegments: 255))

// Frontend: a 20-segment write, its entries counted by the ring.
guard let run = front.reserveRequest(segments: 20) else { fatalError("a new ring has room") }
run.writeRequest(operation: .write, handle: DeviceHandle(0), id: RequestID(1), sector: Sector(8),
                 segments: (0..<20).map { Segment(grant: GrantRef(UInt32(100 + $0))) })
_ = front.pushRequests()

// Backend: copy it out once, validate, answer.
guard let copy = try back.takeRequest() else { fatalError("one request was published") }
let request = try copy.decode()
back.writeResponse(Response(id: request.id, operation: request.operation, status: .okay), entries: copy.entryCount)
_ = back.pushResponses()

// Frontend: the response, and the indexes as both ends left them.
guard let response = try front.takeResponse(entries: { _ in run.count }) else { fatalError("one response was published") }
print("request \(response.id.rawValue) \(response.operation) \(response.status) over \(copy.entryCount) entries; \(front.shared.indexes)")
