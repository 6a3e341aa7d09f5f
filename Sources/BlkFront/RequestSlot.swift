// One request slot of a queue: its granted pages, and what it carries while in flight.

import BlkifABI
import XenPlatform

/// How the issuer of a request learns its outcome.
enum Completion {
    /// Nobody waits (the slot is free).
    case none
    /// One task waits for this request alone; it is resumed with the response's status, or
    /// with ``Status/deviceFailed`` when the device failed first.
    case single(UnsafeContinuation<Status, Never>)
    /// The request is one part of a larger I/O.
    case part(of: IOGroup)
    /// A ``PolledQueue`` request: its answer is queued for ``PolledQueue/reap(into:waitingUpTo:)``.
    case polled(tag: UInt64)
}

/// The answer to one request issued through a ``PolledQueue``.
public struct PolledCompletion: Hashable, Sendable {
    /// The caller's tag given at submission.
    public var tag: UInt64
    /// The backend's status (``Status/okay`` on success); a failed device's pending requests are
    /// not reported here: ``PolledQueue/reap(into:waitingUpTo:)`` throws instead.
    public var status: Status

    /// A completion.
    public init(tag: UInt64, status: Status) {
        self.tag = tag
        self.status = status
    }
}

extension Status {
    /// Not a status a backend sends: what a waiter is resumed with when the device failed.
    static var deviceFailed: Status { Status(rawValue: Int16.min) }
}

/// A large I/O split into several requests: the issuer waits once for all of them.
///
/// Its fields are guarded by the lock of the queue its parts were issued on.
final class IOGroup: @unchecked Sendable {  // safe: every access holds the queue's lock
    /// Parts issued and not yet answered, plus one while the issuer is still issuing.
    var outstanding = 1
    /// The first part's failure.
    var failure: BlockDeviceError?
    /// The issuer, once it has issued every part and waits.
    var waiter: UnsafeContinuation<Void, Never>?

    /// Counts one part (or the issuer's own hold) done; resumes the issuer after the last.
    func finishOne(failing error: BlockDeviceError? = nil) {
        if failure == nil { failure = error }
        outstanding -= 1
        if outstanding == 0, let waiter {
            self.waiter = nil
            waiter.resume()
        }
    }
}

/// The granted pages of one slot: data pages, contiguous, and the indirect page when the
/// connection uses indirect descriptors. Immutable after setup.
struct SlotPages: @unchecked Sendable {  // safe: the pointers are fixed; the pages are used by the slot's owner only
    /// The first data page.
    let data: UnsafeMutableRawPointer
    /// The reference of each data page, in order.
    let dataRefs: [GrantRef]
    /// The indirect page, or nil.
    let indirect: UnsafeMutableRawPointer?
    /// Its reference.
    let indirectRef: GrantRef?
}

/// What a slot carries while its request is in flight.
///
/// The request id is `generation << 32 | slot index`, so an answer to an earlier use of the
/// slot (a replayed or duplicated response) is told apart from the current one.
struct SlotState {
    /// Bumped at each issue.
    var generation: UInt32 = 0
    /// Whether a request is issued and not yet answered.
    var inFlight = false
    /// The operation the response must carry (the inner one of an indirect request).
    var operation = Operation.read
    /// Ring entries the request occupies (its response occupies as many).
    var entries = 1
    /// First sector and sector count, for error messages.
    var sector = Sector(0)
    var sectors = 0
    /// For a read: where the data goes when the response arrives.
    var readDestination: UnsafeMutableRawPointer?
    /// Who waits.
    var completion = Completion.none

    /// The id of the current issue of slot `index`.
    func id(slot index: Int) -> RequestID { RequestID(UInt64(generation) << 32 | UInt64(index)) }
}

/// A fixed table of waiters for a free slot, first come first served; no allocation until more
/// than its initial capacity wait at once.
struct SlotWaiters {
    private var waiters: [UnsafeContinuation<Int, Never>] = []
    private var head = 0

    init(capacity: Int) { waiters.reserveCapacity(capacity) }

    /// Whether no task waits.
    var isEmpty: Bool { head == waiters.count }

    /// Queues a waiter.
    mutating func append(_ waiter: UnsafeContinuation<Int, Never>) {
        if head == waiters.count, head > 0 {
            waiters.removeAll(keepingCapacity: true)
            head = 0
        }
        waiters.append(waiter)
    }

    /// The longest-waiting task, removed.
    mutating func popFirst() -> UnsafeContinuation<Int, Never>? {
        guard head < waiters.count else { return nil }
        defer { head += 1 }
        return waiters[head]
    }
}

/// The segments of a slot's data pages covering `byteCount` bytes: whole pages, the last one
/// holding the remaining sectors from sector 0. A collection over the slot's references, so
/// writing a request allocates nothing.
struct SlotSegments: RandomAccessCollection {
    let refs: [GrantRef]
    let sectors: Int

    var startIndex: Int { 0 }
    var endIndex: Int { (sectors + Int(Sector.perPage) - 1) / Int(Sector.perPage) }

    subscript(index: Int) -> Segment {
        let left = sectors - index * Int(Sector.perPage)
        return Segment(grant: refs[index], firstSector: 0, lastSector: UInt8(Swift.min(left, Int(Sector.perPage)) - 1))
    }
}
