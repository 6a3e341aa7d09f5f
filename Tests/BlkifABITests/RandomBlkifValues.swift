// Random protocol values for the property tests.

import BlkifABI
import TestSupport

extension SplitMix64 {
    /// A value in `range`.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next(below: UInt64(range.upperBound - range.lowerBound + 1)))
    }

    /// One of `elements`.
    mutating func element<T>(of elements: [T]) -> T { elements[int(in: 0...elements.count - 1)] }

    /// Any ABI, concrete or native.
    mutating func abi() -> ABI { element(of: ABI.allCases) }

    /// A valid segment: any grant, `first <= last < 8`.
    mutating func segment() -> Segment {
        let first = UInt8(next(below: 8))
        let last = first + UInt8(next(below: UInt64(8 - first)))
        return Segment(grant: GrantRef(UInt32(truncatingIfNeeded: next())), firstSector: first, lastSector: last)
    }

    /// A request's id, handle and first sector; the sector leaves room for any transfer.
    mutating func header() -> (id: RequestID, handle: DeviceHandle, sector: Sector) {
        (RequestID(next()), DeviceHandle(UInt16(truncatingIfNeeded: next())), Sector(next() >> 20))
    }

    /// Limits a connection could negotiate, with or without a known capacity.
    mutating func limits() -> RequestLimits {
        RequestLimits(
            maximumSegments: int(in: ABI.segmentsPerHeader...ABI.maximumBlockSegments),
            maximumIndirectSegments: next(below: 4) == 0 ? 0 : int(in: 1...RequestLimits.indirectSegmentCeiling),
            capacity: next(below: 2) == 0 ? nil : Sector(next() >> 1))
    }
}
