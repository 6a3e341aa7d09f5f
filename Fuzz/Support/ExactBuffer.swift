// Heap buffers of exactly the size the code under test is given.

/// A heap buffer of exactly `count` bytes (none spare): under the address sanitizer a read or
/// write one byte past it is a heap-buffer-overflow, so a target proves the code under test
/// stays inside what it was given.
final class ExactBuffer {
    /// The buffer.
    let bytes: UnsafeMutableRawBufferPointer

    /// `count` zero bytes, aligned to `alignment`.
    init(count: Int, alignment: Int = 16) {
        bytes = .allocate(byteCount: count, alignment: alignment)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// A copy of `source`, exactly its size.
    convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(count: source.count)
        if let base = source.baseAddress { bytes.baseAddress.unsafelyUnwrapped.copyMemory(from: base, byteCount: source.count) }
    }

    deinit { bytes.deallocate() }

    /// The buffer, read-only.
    var readable: UnsafeRawBufferPointer { UnsafeRawBufferPointer(bytes) }
}
