// The only place that loads and stores integers in raw memory: little-endian, unaligned-safe.

extension UnsafeRawPointer {
    /// Loads a little-endian integer at `offset`, whatever its alignment.
    @inlinable @inline(__always)
    func loadLittleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        // safe: callers pass offsets inside the structure their view covers.
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawPointer {
    /// Loads a little-endian integer at `offset`, whatever its alignment.
    @inlinable @inline(__always)
    func loadLittleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        UnsafeRawPointer(self).loadLittleEndian(at: offset, as: type)
    }

    /// Stores `value` little-endian at `offset`, whatever its alignment.
    @inlinable @inline(__always)
    func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}
