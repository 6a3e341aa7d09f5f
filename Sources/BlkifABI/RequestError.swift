// Why a request a peer wrote was refused.

/// A request that failed validation, with the id and operation to answer it with.
///
/// Decoding never traps on a peer's bytes: every defect becomes one of these. The backend
/// answers ``id`` with ``status`` and goes on with the next request.
public struct RequestError: Error, Hashable, CustomStringConvertible {
    /// The offending request's id, as it was written.
    public let id: RequestID
    /// The operation to answer the offending request with, as it was written: the ring
    /// operation, or for an indirect request its `indirect_op` (what its response echoes).
    public let operation: Operation
    /// What was wrong, with the offending value.
    public let reason: Reason

    /// Creates an error for the request `id` of `operation`.
    public init(id: RequestID, operation: Operation, reason: Reason) {
        self.id = id
        self.operation = operation
        self.reason = reason
    }

    /// The defect found, each naming the field and its value.
    public enum Reason: Hashable, Sendable {
        /// `operation` is not one of Xen's (or is `BLKIF_OP_RESERVED_1`).
        case unknownOperation
        /// An indirect request arrived but indirect descriptors were not negotiated.
        case indirectNotNegotiated
        /// `nr_segments` is outside what this operation and the negotiated maximum allow.
        case segmentCount(Int, allowed: ClosedRange<Int>)
        /// A segment's `first_sect` is after its `last_sect`.
        case firstSectorAfterLast(segment: Int, first: UInt8, last: UInt8)
        /// A segment's `last_sect` is 8 or more: past the end of its 4096-byte page.
        case lastSectorOutsidePage(segment: Int, last: UInt8)
        /// A discard of `nr_sectors` 0.
        case emptyDiscard
        /// The sectors `sector ..< sector + count` run past the disk's `capacity` (or past 2^64).
        case beyondCapacity(sector: Sector, count: UInt64, capacity: Sector)
        /// An indirect request's `indirect_op` is not read or write.
        case indirectOperation(Operation)
        /// Fewer bytes were copied than the request's entries (or indirect pages) occupy.
        case truncated(needed: Int, available: Int)
    }

    /// The status to answer with: ``Status/notSupported`` for an operation this side cannot
    /// perform, ``Status/error`` for a malformed request.
    public var status: Status {
        switch reason {
        case .unknownOperation, .indirectNotNegotiated: .notSupported
        default: .error
        }
    }

    public var description: String {
        let subject = "request \(id.rawValue) (\(operation))"
        switch reason {
        case .unknownOperation:
            return "\(subject): operation \(operation.rawValue) is not a blkif operation"
        case .indirectNotNegotiated:
            return "\(subject): an indirect request, but indirect descriptors were not negotiated"
        case .segmentCount(let count, let allowed):
            return "\(subject): nr_segments \(count) outside \(allowed.lowerBound)...\(allowed.upperBound)"
        case .firstSectorAfterLast(let segment, let first, let last):
            return "\(subject): segment \(segment) first_sect \(first) > last_sect \(last)"
        case .lastSectorOutsidePage(let segment, let last):
            return "\(subject): segment \(segment) last_sect \(last) >= \(Sector.perPage)"
        case .emptyDiscard:
            return "\(subject): discard of nr_sectors 0"
        case .beyondCapacity(let sector, let count, let capacity):
            return "\(subject): sectors \(sector.rawValue) + \(count) pass the end of the disk (\(capacity.rawValue) sectors)"
        case .indirectOperation(let inner):
            return "\(subject): indirect_op \(inner.rawValue) is not read or write"
        case .truncated(let needed, let available):
            return "\(subject): needs \(needed) bytes, \(available) were copied"
        }
    }
}
