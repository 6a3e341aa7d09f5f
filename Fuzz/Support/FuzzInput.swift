// A fuzzer's input, read front to back as the choices a target makes and the bytes it hands on.

/// Reads one input front to back: first the choices a target makes (an ABI, limits, the next
/// step of a peer's script), then the bytes it hands to the code under test.
///
/// Any input is a complete run: past the end every read gives zero and ``isExhausted`` says so,
/// so a target's script always ends. Reads never go past the input (`offset <= bytes.count`).
struct FuzzInput {
    /// The whole input.
    let bytes: UnsafeRawBufferPointer
    /// Bytes read so far.
    private(set) var offset = 0

    /// Reads `bytes`, from its first byte.
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Whether every byte has been read.
    var isExhausted: Bool { offset >= bytes.count }

    /// Bytes not yet read.
    var remaining: Int { bytes.count - offset }

    /// The next byte, or 0 past the end.
    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next `UInt32`, little-endian (missing bytes read as 0).
    mutating func uint32() -> UInt32 {
        (0..<4).reduce(UInt32(0)) { value, shift in value | UInt32(byte()) << (8 * UInt32(shift)) }
    }

    /// The next `UInt64`, little-endian (missing bytes read as 0).
    mutating func uint64() -> UInt64 { UInt64(uint32()) | UInt64(uint32()) << 32 }

    /// A value in `range`, from one byte if the range has at most 256 values, else from four.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        let raw = span <= 256 ? UInt64(byte()) : UInt64(uint32())
        return range.lowerBound + Int(raw % span)
    }

    /// One bit of choice: the low bit of the next byte.
    mutating func bool() -> Bool { byte() & 1 == 1 }

    /// The next `count` bytes, fewer if the input ends first.
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let taken = min(max(count, 0), remaining)
        defer { offset += taken }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + taken])
    }

    /// Every byte not yet read.
    mutating func rest() -> UnsafeRawBufferPointer { take(remaining) }
}
