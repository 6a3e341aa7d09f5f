// A regular file or a block device as a disk: preadv/pwritev, fdatasync, hole punching.

import Glibc

/// A disk backed by a regular file (an image) or a block device (`/dev/…`), opened once.
///
/// Reads and writes are positioned vectored calls (`preadv`/`pwritev`), safe from several
/// threads at once. A discard punches a hole (`fallocate(PUNCH_HOLE | KEEP_SIZE)`) over the
/// whole extents it covers; a secure discard writes zeros over the exact range and syncs.
/// The size is the file's (or device's) size rounded down to 512 bytes.
public final class FileStorage: BlockStorage, @unchecked Sendable {  // safe: immutable after init; the fd is shared by positioned calls only
    /// What was opened (the `params` node).
    public let path: String
    public let byteCount: UInt64
    public let isReadOnly: Bool
    /// Whether `path` is a block device (a toolstack's `type = phy`) rather than a regular file.
    public let isBlockDevice: Bool
    public let discardSupport: StorageDiscard?
    private let descriptor: Int32

    /// `fallocate`'s `FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE` (linux/falloc.h).
    private static let punchHole: Int32 = 0x01 | 0x02
    /// glibc's `fallocate`, which the Glibc module hides behind `_GNU_SOURCE`; looked up once.
    private static let fallocate: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fallocate") else { return nil }  // RTLD_DEFAULT
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32).self)
    }()
    /// The most pieces one `preadv`/`pwritev` takes (`IOV_MAX`).
    private static let vectorLimit = 1024
    /// Zeros for secure discards.
    private nonisolated(unsafe) static let zeros: UnsafeMutableRawBufferPointer = {  // safe: never written after this
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        return buffer
    }()

    /// Opens `path` for reading and writing (or reading only).
    /// - Throws: ``StorageError`` for a missing file, a directory, or one smaller than a sector.
    public init(path: String, readOnly: Bool = false) throws(StorageError) {
        self.path = path
        isReadOnly = readOnly
        descriptor = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard descriptor >= 0 else { throw StorageError("open", path: path, errno: Glibc.errno) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let error = Glibc.errno
            close(descriptor)
            throw StorageError("fstat", path: path, errno: error)
        }
        let kind = status.st_mode & S_IFMT
        let end = lseek(descriptor, 0, SEEK_END)  // a block device's size too
        guard kind == S_IFREG || kind == S_IFBLK, end >= 512 else {
            close(descriptor)
            throw StorageError("open (not a regular file or block device of at least 512 bytes)", path: path, errno: EINVAL)
        }
        byteCount = UInt64(end) / 512 * 512
        isBlockDevice = kind == S_IFBLK
        let block = UInt32(clamping: max(Int(status.st_blksize), 512))
        discardSupport = kind == S_IFREG && !readOnly && block & (block - 1) == 0
            ? StorageDiscard(granularity: block, secure: true) : nil
    }

    deinit { close(descriptor) }

    public func read(into vectors: IOVectors, at offset: UInt64) throws(StorageError) {
        try transfer(vectors, at: offset, name: "preadv") { preadv($0, $1, $2, $3) }
    }

    public func write(from vectors: IOVectors, at offset: UInt64) throws(StorageError) {
        try transfer(vectors, at: offset, name: "pwritev") { pwritev($0, $1, $2, $3) }
    }

    public func flush() throws(StorageError) {
        guard fdatasync(descriptor) == 0 else { throw StorageError("fdatasync", path: path, errno: Glibc.errno) }
    }

    public func discard(_ range: Range<UInt64>, secure: Bool) throws(StorageError) {
        guard let discardSupport else { throw StorageError("discard", path: path, errno: EOPNOTSUPP) }
        if secure {
            try writeZeros(range)
            return try flush()
        }
        let extents = discardSupport.extents(inside: range)
        guard !extents.isEmpty else { return }
        guard let fallocate = Self.fallocate else { throw StorageError("fallocate", path: path, errno: ENOSYS) }
        guard fallocate(descriptor, Self.punchHole, off_t(extents.lowerBound), off_t(extents.count)) == 0 else {
            throw StorageError("fallocate(PUNCH_HOLE)", path: path, errno: Glibc.errno)
        }
    }

    /// Runs a vectored call until every byte moved, resuming after short transfers, at most
    /// ``vectorLimit`` pieces a call. The pieces are consumed in place (their bases advance).
    private func transfer(_ vectors: IOVectors, at offset: UInt64, name: String,
                          _ call: (Int32, UnsafePointer<iovec>, Int32, off_t) -> Int) throws(StorageError) {
        var position = off_t(offset)
        var first = 0
        let pieces = vectors.vectors
        while first < pieces.count {
            let count = min(pieces.count - first, Self.vectorLimit)
            let moved = call(descriptor, pieces.baseAddress! + first, Int32(count), position)  // safe: first < count
            if moved < 0 {
                if Glibc.errno == EINTR { continue }
                throw StorageError(name, path: path, errno: Glibc.errno)
            }
            guard moved > 0 else { throw StorageError(name, path: path, errno: 0) }
            position += off_t(moved)
            var left = moved
            while left > 0 && first < pieces.count {  // skip whole pieces, trim a partial one
                let length = pieces[first].iov_len
                if left >= length {
                    left -= length
                    first += 1
                } else {
                    pieces[first].iov_base = pieces[first].iov_base.map { $0 + left }
                    pieces[first].iov_len = length - left
                    left = 0
                }
            }
            while first < pieces.count && pieces[first].iov_len == 0 { first += 1 }
        }
    }

    /// Writes zeros over `range`, a megabyte at a time.
    private func writeZeros(_ range: Range<UInt64>) throws(StorageError) {
        var position = range.lowerBound
        while position < range.upperBound {
            let length = Int(min(UInt64(Self.zeros.count), range.upperBound - position))
            let written = pwrite(descriptor, Self.zeros.baseAddress, length, off_t(position))
            if written < 0 && Glibc.errno == EINTR { continue }
            guard written > 0 else { throw StorageError("pwrite (secure discard)", path: path, errno: written < 0 ? Glibc.errno : 0) }
            position += UInt64(written)
        }
    }
}
