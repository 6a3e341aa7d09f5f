import Glibc

/// Thin wrappers over the Unix-domain stream socket calls the client and server need.
enum UnixSocket {
    /// Connects to the socket at `path`; returns the descriptor.
    static func connect(to path: String) throws(XenStoreError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connection("socket: \(errorText())") }
        let result = try withAddress(path) { Glibc.connect(fd, $0, $1) }
        guard result == 0 else {
            let text = errorText()
            close(fd)
            throw .connection("connect \(path): \(text)")
        }
        return fd
    }

    /// Binds and listens on `path`, replacing a stale socket file there; returns the descriptor,
    /// non-blocking so that accepting a client that already left cannot stall the caller.
    static func listen(at path: String) throws(XenStoreError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connection("socket: \(errorText())") }
        unlink(path)
        let bound = try withAddress(path) { bind(fd, $0, $1) }
        guard bound == 0, Glibc.listen(fd, 64) == 0, fcntl(fd, F_SETFL, O_NONBLOCK) == 0 else {
            let text = errorText()
            close(fd)
            throw .connection("listen \(path): \(text)")
        }
        return fd
    }

    /// Writes all of `bytes`, retrying on interruption; false if the peer is gone.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// Reads what is available (blocking if the descriptor is blocking); nil at end of stream or on error.
    static func readSome(_ fd: Int32, max: Int = 65536) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            return Array(buffer[..<count])
        }
    }

    /// The text of the current `errno`.
    static func errorText() -> String { String(cString: strerror(errno)) }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) throws(XenStoreError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw .connection("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
