// A backend whose every answer the test writes by hand, to play a hostile one: the frontend under
// test runs in this process against it, over the loopback platform and an in-memory store.

import BlkFront
import BlkifABI
import BlkifRing
import Foundation
import XCTest
import XenBus
import XenPlatform
import XenStore

/// The script itself went wrong (not the frontend under test).
struct ScriptError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One device between a ``BlockDevice`` and a backend the test scripts: the test takes each
/// request and writes each response (and `rsp_prod`) itself, right or wrong.
final class ScriptedBackend: @unchecked Sendable {  // safe: used from the test's task only
    let store = InMemoryXenStore()
    let directory: String
    let device = VirtualBlockDevice(frontendDomain: DomainID(1), id: DeviceID(51712))
    let frontPlatform: LoopbackPlatform
    let backPlatform: LoopbackPlatform
    let driver: BackendDriver
    private(set) var frontend: BlockDevice!
    private var ring: BackRing!
    private var shared: SharedRing!
    private var port: LoopbackEventPort!
    private var mapped: MappedPages!
    /// The next response slot: the scripted `rsp_prod_pvt`.
    private var responses = RingIndex(0)

    /// Indirect segments the backend's ring accepts: the offer's, or what it announced as it connected.
    private let indirectSegments: Int

    /// A device of `sectors` sectors whose backend offers `offer`, and writes `announcedAtConnect`
    /// (`feature-max-indirect-segments` and its other feature nodes) only as it connects, as
    /// Linux's blkback does.
    init(sectors: UInt64 = 2048, offer: BackendOffer = BackendOffer(maximumRingPages: 1, features: BackendFeatures(flushCache: true)),
         announcedAtConnect: [String: String] = [:]) throws {
        directory = NSTemporaryDirectory() + "/blkfront-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        frontPlatform = try LoopbackPlatform(domain: DomainID(1), directory: directory, grantEntries: 1024, arenaPages: 1024)
        backPlatform = try LoopbackPlatform(domain: .dom0, directory: directory)
        try Toolstack.createDevice(device, configuration: DeviceConfiguration(params: "scripted"), in: store)
        let backendStore = store.session(as: .dom0), backendPath = device.backendPath
        driver = BackendDriver(store: backendStore, device: device, offer: offer, disk: DiskProperties(sectors: Sector(sectors)),
                               connectRings: { _ in
                                   for (node, value) in announcedAtConnect { try backendStore.write(try backendPath.appending(node), value) }
                               })
        indirectSegments = announcedAtConnect["feature-max-indirect-segments"].flatMap { Int($0) } ?? offer.maximumIndirectSegments
        try driver.start()
    }

    /// Attaches the frontend (this thread) while the backend connects (another thread), then
    /// maps the ring and binds the event channel as a backend does.
    func attach(_ options: FrontendOptions = FrontendOptions(queueDepth: 8, requestTimeout: .seconds(30))) throws {
        let (attached, backend) = attachFrontend(options, whileTheBackendRunsUntil: [.connected])
        frontend = try attached.get()
        _ = try backend?.get()
        let connection = try XCTUnwrap(driver.connection)
        mapped = try backPlatform.map(connection.queues[0].ringReferences, grantedBy: DomainID(1), access: .readWrite)
        port = try backPlatform.bind(to: DomainID(1), port: EventPort(connection.queues[0].eventChannel.rawValue))
        var limits = connection.requestLimits
        limits.maximumIndirectSegments = indirectSegments
        ring = try BackRing(attachingTo: mapped.base, geometry: connection.geometry, limits: limits)
        shared = SharedRing(mapped.base, geometry: connection.geometry)
    }

    /// Attaches a frontend that is expected to give up after Connected: the backend follows the
    /// close handshake to Closed on another thread. Returns the attach's error and the backend's
    /// last state.
    func attachExpectingFailure(_ options: FrontendOptions) -> (error: Error?, backendState: XenbusState?) {
        let (attached, backend) = attachFrontend(options, whileTheBackendRunsUntil: [.closed])
        switch attached {
        case .success(let device):
            frontend = device
            return (nil, try? backend?.get())
        case .failure(let error):
            return (error, try? backend?.get())
        }
    }

    /// Attaches the frontend (this thread) while the backend's driver runs until `targets`
    /// (another thread, waited for up to 10 s): the attach's outcome and the backend's.
    private func attachFrontend(_ options: FrontendOptions, whileTheBackendRunsUntil targets: Set<XenbusState>)
        -> (frontend: Result<BlockDevice, Error>, backend: Result<XenbusState, Error>?) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let driver = self.driver  // used by that thread alone until it signals
        nonisolated(unsafe) var reached: Result<XenbusState, Error>?
        Thread.detachNewThread {
            reached = Result { try driver.run(until: targets, timeout: .seconds(10)) }
            done.signal()
        }
        let attached = Result { [self] in
            try BlockDevice.attach(store: store.session(as: DomainID(1)), device: device, grants: frontPlatform,
                                   events: frontPlatform, options: options, timeout: .seconds(10))
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        return (attached, reached)
    }

    /// What the test needs of a request, copied out (the ring's private copy is reused).
    struct TakenRequest {
        let id: RequestID
        let operation: BlkifABI.Operation
        let entries: Int
        let sector: Sector
        let sectors: Int
        let segments: Int
        let firstGrant: GrantRef?
    }

    /// The next request the frontend issued (waiting up to 5 s for one).
    func nextRequest() throws -> TakenRequest {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let copy = try ring.takeRequest() {
                let (id, operation) = copy.header
                switch try copy.decode() {
                case .read(let transfer), .write(let transfer), .writeBarrier(let transfer), .flushDiskCache(let transfer):
                    return TakenRequest(id: id, operation: operation, entries: copy.entryCount, sector: transfer.sector,
                                        sectors: transfer.segments.sectorCount, segments: transfer.segments.count,
                                        firstGrant: transfer.segments.first?.grant)
                case .discard(let discard):
                    return TakenRequest(id: id, operation: operation, entries: 1, sector: discard.sector,
                                        sectors: Int(discard.sectorCount), segments: 0, firstGrant: nil)
                case .indirect(let indirect):
                    return TakenRequest(id: id, operation: operation, entries: 1, sector: indirect.sector, sectors: 0,
                                        segments: indirect.segmentCount, firstGrant: nil)
                }
            }
            _ = try port.waitForEvent(timeout: .milliseconds(50))
        }
        throw ScriptError(message: "no request arrived within 5 s")
    }

    /// Writes `pattern` into the data page of a request's first segment, as a read would.
    func fillFirstPage(of request: TakenRequest, with pattern: UInt8) throws {
        let grant = try XCTUnwrap(request.firstGrant)
        let page = try backPlatform.map([grant], grantedBy: DomainID(1), access: .readWrite)
        page.base.initializeMemory(as: UInt8.self, repeating: pattern, count: GrantPage.size)
        try backPlatform.unmap(page)
    }

    /// Writes a response at the next slot (occupying `entries`) and publishes it, whatever it says.
    func respond(id: RequestID, operation: BlkifABI.Operation, status: Status = .okay, entries: Int = 1) {
        shared.entries(from: responses, count: 1).response.write(id: id, operation: operation, status: status)
        responses = responses.advanced(by: UInt32(entries))
        publishResponseProducer(responses)
    }

    /// Stores `rsp_prod` as given (a hostile backend may store anything) and notifies.
    func publishResponseProducer(_ producer: RingIndex) {
        shared.responseProducer.pointee.store(producer, ordering: .releasing)
        port.notify()
    }

    /// Closes everything: the backend's mappings first, then the frontend.
    func tearDown() {
        // The backend's half of the close handshake, on its own thread while the frontend closes.
        nonisolated(unsafe) let driver = self.driver
        let closed = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? driver.run(until: [.closed], timeout: .seconds(5))
            closed.signal()
        }
        port?.close()
        if let mapped { try? backPlatform.unmap(mapped) }  // so the frontend can end its grants at once
        frontend?.close(timeout: .seconds(1))
        _ = closed.wait(timeout: .now() + 5)
        driver.stop()
        frontPlatform.close()
        backPlatform.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
