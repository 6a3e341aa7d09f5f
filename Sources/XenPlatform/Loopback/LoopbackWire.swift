// The loopback protocol on a domain's socket: a hello that hands over the grant table and the
// memory arena, and bind requests that hand over an event channel's descriptors.

import CXenPlatform
import Glibc
import XenStore

/// The messages of the loopback protocol: fixed-size little-endian 32-bit words on a
/// SOCK_SEQPACKET Unix socket, descriptors attached with SCM_RIGHTS.
///
/// - client hello: `magic, version | domain << 16`; the reply `status, entries, pages` carries
///   the grant table's and the arena's memory files.
/// - bind: `bindOperation, port`; the reply `status, port` carries the channel's two eventfds
///   (towards the allocator, towards the binder) and the binder's end of a liveness socket pair.
///   A malformed request is answered `badRequest` alone and its sender dropped.
enum LoopbackWire {
    /// The first word of a hello: "XPLB".
    static let magic: UInt32 = 0x4250_4C58
    /// The protocol version this code speaks.
    static let version: UInt32 = 1
    /// The first word of a bind request.
    static let bindOperation: UInt32 = 2
    /// How long either side waits for a reply or a hello.
    static let replyTimeout = Duration.seconds(5)

    /// A reply's status word.
    enum Status: UInt32 {
        case ok = 0
        case domainAlreadyConnected = 1
        case credentialsRefused = 2
        case portNotOffered = 3
        case badRequest = 4
    }

    /// The socket where `domain`'s platform serves its grants and ports.
    static func socketPath(directory: String, domain: DomainID) -> String {
        "\(directory)/domain-\(domain.rawValue).sock"
    }

    /// Sends `words` with `descriptors` attached.
    static func send(_ words: [UInt32], descriptors: [Int32] = [], on socket: Int32) throws(PlatformError) {
        let result = words.withUnsafeBytes { bytes in
            descriptors.withUnsafeBufferPointer { fds in
                cxp_send(socket, bytes.baseAddress, bytes.count, fds.baseAddress, Int32(fds.count))
            }
        }
        try SystemCall.check(result, "sendmsg")
    }

    /// A received message: its words and the descriptors that came with it (the caller owns them).
    struct Message {
        var words: [UInt32]
        var descriptors: [Int32]

        /// Closes every descriptor received (a message that is refused or malformed).
        func closeDescriptors() { for descriptor in descriptors { Glibc.close(descriptor) } }
    }

    /// Receives one message of at most 4 words within `timeout`. `nil` when the peer closed.
    static func receive(on socket: Int32, timeout: Duration) throws(PlatformError) -> Message? {
        var words = [UInt32](repeating: 0, count: 4)
        var fds = [Int32](repeating: -1, count: Int(CXP_MAX_FDS))
        var count: Int32 = 0
        let got = words.withUnsafeMutableBytes { bytes in
            fds.withUnsafeMutableBufferPointer { fds in
                cxp_receive(socket, bytes.baseAddress, bytes.count, fds.baseAddress, &count, SystemCall.milliseconds(timeout))
            }
        }
        if got == 0 { return nil }
        guard got > 0 else { throw .systemCall("recvmsg", errno: Int32(-got)) }
        let message = Message(words: Array(words.prefix(got / 4)), descriptors: Array(fds.prefix(Int(count))))
        guard got % 4 == 0 else {
            message.closeDescriptors()
            throw .systemCall("recvmsg (\(got) bytes, not whole words)", errno: EPROTO)
        }
        return message
    }

    /// Whether the process at the other end of `socket` runs as this user (or as root).
    static func peerIsTrusted(_ socket: Int32) -> Bool {
        var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
        guard cxp_peer_credentials(socket, &pid, &uid, &gid) == 0 else { return false }
        return uid == getuid() || uid == 0
    }
}

extension LoopbackWire {
    /// Whether the process at the other end of `socket` has closed it or exited.
    static func peerIsGone(_ socket: Int32) -> Bool { cxp_peer_gone(socket) != 0 }
}
