// Granting a connection's rings and request pages, and taking them back.

import BlkifABI
import BlkifRing
import Foundation
import Synchronization
import XenBus
import XenPlatform
import XenStore

/// Grants what a chosen transport needs, for XenBus's ``FrontendDriver`` (its `setUpRings` and
/// `tearDownRings`): each queue's ring pages and event channel, and each request slot's data
/// pages (and indirect page) — granted once and reused for every request, so a request grants
/// nothing.
///
/// The loopback platform can grant only pages of its own arena, so data is copied between the
/// caller's buffers and the slots' pages in both grant modes; persistent grants change what the
/// backend does (it keeps the pages mapped) and not what the frontend grants.
final class RingSetup: Sendable {
    /// One queue's granted parts, before it runs.
    struct GrantedQueue: Sendable {
        var ring: SharedPages
        var port: any XenPlatform.EventChannelPort
        var slots: [SlotPages]
        /// The slots' grants (data pages and indirect pages).
        var slotShares: [SharedPages]
        /// Every grant of the queue, its ring first.
        var shares: [SharedPages] { [ring] + slotShares }
    }

    /// A queue's request slots and the grants behind them.
    private struct GrantedSlots {
        var slots: [SlotPages] = []
        var shares: [SharedPages] = []
    }

    let grants: any GrantSharing
    let allocatePort: @Sendable (DomainID) throws(PlatformError) -> any XenPlatform.EventChannelPort
    let backend: DomainID
    let options: FrontendOptions
    /// What is granted and what runs now.
    private struct Books {
        var built: [GrantedQueue] = []
        var running: [FrontQueue] = []
        var choice: TransportChoice?
        /// Grants the backend still mapped at teardown.
        var unreleased: [SharedPages] = []
    }
    private let books = Mutex(Books())

    init(grants: any GrantSharing, allocatePort: @escaping @Sendable (DomainID) throws(PlatformError) -> any XenPlatform.EventChannelPort,
         backend: DomainID, options: FrontendOptions) {
        self.grants = grants
        self.allocatePort = allocatePort
        self.backend = backend
        self.options = options
    }

    /// Data pages per request for `choice`: the indirect segment count, else the segments the
    /// size limit allows.
    static func pagesPerRequest(_ choice: TransportChoice) -> Int {
        if usesIndirect(choice) { return choice.maximumIndirectSegments }
        return min(choice.maximumSegments, max(1, choice.maximumRequestSize / RingGeometry.pageSize))
    }

    /// Whether requests above 11 segments go through an indirect page.
    static func usesIndirect(_ choice: TransportChoice) -> Bool { choice.maximumIndirectSegments > ABI.segmentsPerHeader }

    /// Slots per queue: as many requests of the largest size as `max-requests` entries hold.
    static func slotCount(_ choice: TransportChoice) -> Int {
        let entries = usesIndirect(choice) ? 1 : choice.geometry.abi.entriesForSegments(pagesPerRequest(choice))
        return max(1, choice.maximumRequests / entries)
    }

    /// `setUpRings`: grants every queue's ring, port and slots; on any failure ends what it granted.
    func setUp(_ choice: TransportChoice) throws -> [QueueRing] {
        tearDown()
        var queues: [GrantedQueue] = []
        do {
            for _ in 0..<choice.queueCount { queues.append(try grantQueue(choice)) }
        } catch {
            for queue in queues {
                queue.port.close()
                endSharing(queue.shares)
            }
            throw error
        }
        books.withLock { books in
            books.built = queues
            books.choice = choice
        }
        return queues.map { queue in
            QueueRing(ringReferences: queue.ring.refs, eventChannel: XenBus.EventChannelPort(queue.port.port.rawValue))
        }
    }

    private func grantQueue(_ choice: TransportChoice) throws(PlatformError) -> GrantedQueue {
        let ring = try grants.share(pageCount: choice.geometry.pageCount, with: backend, access: .readWrite)
        let port: any XenPlatform.EventChannelPort
        do {
            port = try allocatePort(backend)
        } catch {
            try? grants.endSharing(ring)
            throw error
        }
        do {
            let granted = try grantSlots(choice)
            return GrantedQueue(ring: ring, port: port, slots: granted.slots, slotShares: granted.shares)
        } catch {
            port.close()
            try? grants.endSharing(ring)
            throw error
        }
    }

    /// Grants one queue's request slots for `choice`; on a failure ends what it granted.
    private func grantSlots(_ choice: TransportChoice) throws(PlatformError) -> GrantedSlots {
        var granted = GrantedSlots()
        do {
            for _ in 0..<Self.slotCount(choice) {
                let data = try grants.share(pageCount: Self.pagesPerRequest(choice), with: backend, access: .readWrite)
                granted.shares.append(data)
                var indirect: SharedPages?
                if Self.usesIndirect(choice) {
                    let page = try grants.share(pageCount: 1, with: backend, access: .readWrite)
                    granted.shares.append(page)
                    indirect = page
                }
                granted.slots.append(SlotPages(data: data.base, dataRefs: data.refs, indirect: indirect?.base, indirectRef: indirect?.refs[0]))
            }
            return granted
        } catch {
            endSharing(granted.shares)
            throw error
        }
    }

    /// Sizes every queue's request slots for the indirect-segment limit settled at Connected.
    ///
    /// Linux's blkback announces `feature-max-indirect-segments` only as it connects, after the
    /// slots were granted for what its offer said at InitWait; a backend may also lower or
    /// withdraw its word then. As Linux's blkfront sizes its indirect pages as it connects, the
    /// slots are granted again for the settled limit when it changes their shape. No request is
    /// in flight yet, and the backend maps a slot's pages only for a request, so the old grants
    /// end at once. Nothing changes when the shape is the same.
    ///
    /// - Throws: the platform's refusal of the new grants; the slots set up before are kept, and
    ///   ``tearDown()`` ends them.
    func settle(indirectSegments settled: Int) throws(PlatformError) {
        let (current, queueCount) = books.withLock { ($0.choice, $0.built.count) }
        guard var choice = current else { return }
        let before = choice
        choice.maximumIndirectSegments = settled
        guard Self.usesIndirect(choice) != Self.usesIndirect(before) || Self.pagesPerRequest(choice) != Self.pagesPerRequest(before)
                || Self.slotCount(choice) != Self.slotCount(before) else {
            books.withLock { $0.choice = choice }
            return
        }
        var regranted: [GrantedSlots] = []
        do {
            for _ in 0..<queueCount { regranted.append(try grantSlots(choice)) }
        } catch {
            endSharing(regranted.flatMap(\.shares))
            throw error
        }
        let replaced = books.withLock { books in
            let old = books.built.flatMap(\.slotShares)
            for index in books.built.indices {
                books.built[index].slots = regranted[index].slots
                books.built[index].slotShares = regranted[index].shares
            }
            books.choice = choice
            return old
        }
        let stillMapped = endSharing(replaced)
        books.withLock { $0.unreleased += stillMapped }
    }

    /// Ends each of `shares` once; returns those it could not end (the backend still maps them).
    /// Grants the backend was never told of end at once, so the failure paths drop the result.
    @discardableResult
    private func endSharing(_ shares: [SharedPages]) -> [SharedPages] {
        shares.filter { share in (try? grants.endSharing(share)) == nil }
    }

    /// Builds the running queues over what ``setUp(_:)`` granted, the rings initialised.
    func makeQueues(handle: DeviceHandle, onFailure: @escaping @Sendable (BlockDeviceError) -> Void) -> [FrontQueue] {
        books.withLock { books in
            guard let choice = books.choice else { return [] }
            books.running = books.built.enumerated().map { number, granted in
                FrontQueue(index: number, ring: FrontRing(initializing: granted.ring.base, geometry: choice.geometry), port: granted.port,
                           pages: granted.slots, pagesPerRequest: Self.pagesPerRequest(choice), usesIndirect: Self.usesIndirect(choice),
                           handle: handle, requestTimeout: options.requestTimeout, onFailure: onFailure)
            }
            return books.running
        }
    }

    /// Fails every running queue with `error` (the first failure of any queue fails them all).
    func failAll(_ error: BlockDeviceError) {
        for queue in books.withLock({ $0.running }) { queue.fail(error) }
    }

    /// `tearDownRings`: stops the queues, closes the ports and ends every grant the backend no
    /// longer maps. The driver calls it before it writes Closed, when the backend may still map
    /// the pages: those are kept for ``releaseRemaining(within:)``. Idempotent.
    func tearDown() {
        let (queues, granted) = books.withLock { books in
            defer { books.built = []; books.running = []; books.choice = nil }
            return (books.running, books.built)
        }
        for queue in queues {
            queue.fail(.deviceFailed("the device was closed"))
            queue.stop(timeout: .seconds(2))
        }
        var unreleased: [SharedPages] = []
        for queue in granted {
            queue.port.close()
            unreleased += endSharing(queue.shares)
        }
        books.withLock { $0.unreleased += unreleased }
    }

    /// Ends the grants ``tearDown()`` could not, retrying while the backend still maps a page
    /// (it unmaps once it sees the frontend Closed), for at most `timeout`; what is still mapped
    /// then stays granted until the platform closes.
    func releaseRemaining(within timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        var pending = books.withLock { books in
            defer { books.unreleased = [] }
            return books.unreleased
        }
        while !pending.isEmpty {
            pending = pending.filter { share in
                do {
                    try grants.endSharing(share)
                    return false
                } catch PlatformError.stillMapped {
                    return true
                } catch {
                    return false  // unknown to the table: nothing left to end
                }
            }
            guard !pending.isEmpty, ContinuousClock.now < deadline else { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        books.withLock { $0.unreleased += pending }
    }
}
