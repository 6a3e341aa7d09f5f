// Every way a BlkFront call can fail, each naming the value at fault.

import BlkifABI
import BlkifRing
import XenBus
import XenPlatform

/// Why a block-device call failed.
///
/// Errors that say the backend broke the protocol (``backendViolation(_:)``) or went away
/// (``deviceFailed(_:)``) fail the whole device: every pending and later call throws.
public enum BlockDeviceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A byte offset or length that is not a multiple of 512 (the protocol's sector).
    case misaligned(offset: UInt64, length: Int)
    /// A polled request of `length` bytes: empty, or more than one request carries (`limit`).
    case tooLarge(length: Int, limit: Int)
    /// The range `offset ..< offset + length` ends past the disk (`capacity` bytes).
    case beyondEnd(offset: UInt64, length: Int, capacity: UInt64)
    /// The backend answered the request with ``Status/error``.
    case ioError(Operation, sector: Sector, sectors: Int)
    /// The backend answered the request with ``Status/notSupported`` or a status it may not use.
    case rejected(Operation, status: Status)
    /// The backend did not offer the operation (`feature` names the node that says so).
    case notOffered(Operation, feature: String)
    /// The disk is read-only (`info` has `VDISK_READONLY`, or the backend's `mode` is `r`).
    case readOnly
    /// The backend broke the ring protocol; the device is failed.
    case backendViolation(String)
    /// The device failed or closed earlier (the reason is kept); nothing more is issued.
    case deviceFailed(String)
    /// Attaching failed: the store, negotiation or the platform said why.
    case attachFailed(String)

    public var description: String {
        switch self {
        case .misaligned(let offset, let length): "offset \(offset) and length \(length) must be multiples of 512"
        case .tooLarge(let length, let limit): "\(length) bytes: one polled request carries 1...\(limit)"
        case .beyondEnd(let offset, let length, let capacity):
            "bytes \(offset)..<\(offset + UInt64(length)) end past the disk's \(capacity) bytes"
        case .ioError(let operation, let sector, let sectors): "the backend failed the \(operation) of \(sectors) sectors at \(sector)"
        case .rejected(let operation, let status): "the backend answered the \(operation) with status \(status)"
        case .notOffered(let operation, let feature): "the backend does not offer \(operation) (\(feature) is not 1)"
        case .readOnly: "the disk is read-only"
        case .backendViolation(let reason): "the backend broke the protocol: \(reason)"
        case .deviceFailed(let reason): "the device has failed: \(reason)"
        case .attachFailed(let reason): "attaching failed: \(reason)"
        }
    }
}
