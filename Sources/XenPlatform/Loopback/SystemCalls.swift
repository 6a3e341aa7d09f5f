// The C shim's `-errno` convention turned into typed errors, and memory regions over memfds.

import CXenPlatform
import Glibc

/// Turns the shim's `-errno` results into ``PlatformError/systemCall(_:errno:)``.
enum SystemCall {
    /// `result` when it is not negative, else the error naming `call`.
    @discardableResult
    static func check(_ result: Int32, _ call: @autoclosure () -> String) throws(PlatformError) -> Int32 {
        guard result >= 0 else { throw .systemCall(call(), errno: -result) }  // the name is built only on failure: no allocation per call
        return result
    }

    /// The timeout as whole milliseconds for poll(2), rounded up, clamped to 0...Int32.max.
    static func milliseconds(_ timeout: Duration) -> Int32 {
        let (seconds, attoseconds) = timeout.components
        guard seconds >= 0, timeout > .zero else { return 0 }
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow, total.partialValue < Int64(Int32.max) - 1 else { return Int32.max }
        return Int32(total.partialValue + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}

/// A memory file mapped shared into this process; unmapped and closed on deinit.
final class MappedFile: @unchecked Sendable {
    /// The memory file (close-on-exec), passed to other processes over the socket.
    let descriptor: Int32
    /// Start of the mapping.
    let base: UnsafeMutableRawPointer
    /// Bytes mapped.
    let byteCount: Int

    /// Creates a sealed, zeroed memory file of `byteCount` bytes and maps it read-write.
    convenience init(creating name: String, byteCount: Int) throws(PlatformError) {
        let descriptor = try SystemCall.check(cxp_memfd(name, UInt64(byteCount)), "memfd_create(\(name))")
        do { try self.init(mapping: descriptor, byteCount: byteCount) } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    /// Maps `descriptor` (taking ownership only on success) read-write, shared.
    init(mapping descriptor: Int32, byteCount: Int) throws(PlatformError) {
        let mapped = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else { throw .systemCall("mmap(\(byteCount) bytes)", errno: errno) }
        self.descriptor = descriptor
        self.base = mapped
        self.byteCount = byteCount
    }

    deinit {
        munmap(base, byteCount)
        Glibc.close(descriptor)
    }
}
