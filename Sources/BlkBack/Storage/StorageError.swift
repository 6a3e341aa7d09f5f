// Why a store could not be opened or could not do what a request asked.

import Glibc

/// A failed storage operation, naming the operation, the file and the system's error number.
public struct StorageError: Error, Hashable, CustomStringConvertible {
    /// What was attempted (`pread`, `fdatasync`, `open`, …).
    public let operation: String
    /// The file or device.
    public let path: String
    /// The `errno` it failed with (0 for a short transfer that made no progress).
    public let errno: Int32

    /// An error of `operation` on `path` with `errno`.
    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        errno == 0 ? "\(operation) \(path): no progress (end of file?)" : "\(operation) \(path): \(String(cString: strerror(errno)))"
    }
}
