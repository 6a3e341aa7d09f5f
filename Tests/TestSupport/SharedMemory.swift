// Memory two processes map: a file under /dev/shm, mapped shared.

import Foundation

/// A page-aligned region backed by a file that another process maps by path, as a Xen ring's
/// granted pages are mapped by both domains. Unmapped and removed on ``close()`` or deinit.
public final class SharedMemory: @unchecked Sendable {
    /// Start of the mapping (page-aligned).
    public let base: UnsafeMutableRawPointer
    /// Bytes mapped.
    public let byteCount: Int
    /// The file's path, for the other process.
    public let path: String
    private var isOpen = true

    /// Creates a zeroed file of `byteCount` bytes and maps it shared.
    public init(byteCount: Int, name: String = "ring") throws {
        let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = "\(directory)/blkif-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw CPeerError("cannot create \(path): errno \(errno)") }
        defer { Foundation.close(descriptor) }
        guard ftruncate(descriptor, off_t(byteCount)) == 0 else { throw CPeerError("cannot size \(path): errno \(errno)") }
        let mapped = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else { throw CPeerError("cannot map \(path): errno \(errno)") }
        base = mapped
        self.byteCount = byteCount
    }

    /// Unmaps the region and removes the file.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        munmap(base, byteCount)
        unlink(path)
    }

    deinit { close() }
}
