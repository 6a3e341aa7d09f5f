// Zero-copy view of a response entry.

/// A read/write view of one `struct blkif_response` in place, in any ABI.
///
/// ``write(id:operation:status:)`` fills every byte the layout covers, padding included
/// (x86_64: byte 9 and bytes 12–15), so no stale bytes reach the peer (the leak of XSA-216).
/// Invariant: `pointer` addresses at least ``BlkifLayout/responseSize`` bytes.
@frozen
public struct ResponseView {
    /// Address of the entry.
    public let pointer: UnsafeMutableRawPointer
    /// The ABI fixing the response size.
    public let abi: ABI

    /// A view of the response at `pointer`.
    @inlinable
    public init(_ pointer: UnsafeMutableRawPointer, abi: ABI) {
        self.pointer = pointer
        self.abi = abi
    }

    /// `id`, copied from the request.
    @inlinable public var id: RequestID {
        RequestID(pointer.loadLittleEndian(at: BlkifLayout.responseID, as: UInt64.self))
    }

    /// `operation`, copied from the request.
    @inlinable public var operation: Operation {
        Operation(rawValue: pointer.loadLittleEndian(at: BlkifLayout.responseOperation, as: UInt8.self))
    }

    /// `status`.
    @inlinable public var status: Status {
        Status(rawValue: pointer.loadLittleEndian(at: BlkifLayout.responseStatus, as: Int16.self))
    }

    /// Writes the whole response: id, operation, status and every padding byte, as two stores.
    @inlinable @inline(__always)
    public func write(id: RequestID, operation: Operation, status: Status) {
        pointer.storeLittleEndian(id.rawValue, at: BlkifLayout.responseID)
        let tail = UInt32(operation.rawValue) | UInt32(UInt16(bitPattern: status.rawValue)) << 16
        if abi.layout.responseSize == 16 {
            pointer.storeLittleEndian(UInt64(tail), at: BlkifLayout.responseOperation)
        } else {
            pointer.storeLittleEndian(tail, at: BlkifLayout.responseOperation)
        }
    }

    /// Copies the response out: id, operation and status read once each.
    @inlinable @inline(__always)
    public func copy() -> Response {
        Response(id: id, operation: operation, status: status)
    }
}

/// A response as a value, copied out of the ring.
@frozen
public struct Response: Hashable, Sendable {
    /// The request's id, echoed.
    public var id: RequestID
    /// The request's operation, echoed.
    public var operation: Operation
    /// The outcome.
    public var status: Status

    /// A response value.
    @inlinable
    public init(id: RequestID, operation: Operation, status: Status) {
        self.id = id
        self.operation = operation
        self.status = status
    }
}
