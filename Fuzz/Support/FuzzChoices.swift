// The connection parameters a target draws from its input.

import BlkifABI

extension FuzzInput {
    /// One of the three ABIs.
    mutating func abi() -> ABI {
        switch byte() % 3 {
        case 0: .x86_64
        case 1: .x86_32
        default: .native
        }
    }

    /// Any limits a connection can negotiate: 11...255 segments, 0...4096 indirect segments
    /// (half the time none), a disk of any size or an unknown one.
    mutating func limits() -> RequestLimits {
        let segments = int(in: ABI.segmentsPerHeader...ABI.maximumBlockSegments)
        let indirect = bool() ? int(in: 0...RequestLimits.indirectSegmentCeiling) : 0
        let capacity = bool() ? Sector(uint64() >> UInt64(byte() % 64)) : nil
        return RequestLimits(maximumSegments: segments, maximumIndirectSegments: indirect, capacity: capacity)
    }
}

extension RequestLimits {
    /// Whether `count` sectors from `sector` end inside the disk (or, its size unknown, inside
    /// the 64-bit sector space).
    func contains(_ sector: Sector, count: UInt64) -> Bool {
        let (end, overflow) = sector.rawValue.addingReportingOverflow(count)
        return !overflow && end <= capacity?.rawValue ?? .max
    }
}
