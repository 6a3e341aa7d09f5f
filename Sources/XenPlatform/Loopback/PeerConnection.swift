// This domain's connection to a granting domain: its grant table and arena, as received.

import BlkifABI
import CXenPlatform
import Glibc
import XenStore

/// A connection to another domain's platform, made on first use and kept while it lives: the
/// granter's grant table mapped here (read-write, to mark entries in use as the hypervisor does)
/// and its arena's memory file (mapped page by page as grants allow).
///
/// Closed on deinit, once every mapping made through it is gone.
final class PeerConnection: @unchecked Sendable {  // safe: `pins` is only touched under MappingState's mutex
    /// The granting domain.
    let domain: DomainID
    /// The connected socket.
    let socket: Int32
    /// The granter's grant table.
    let table: MappedFile
    /// Entries in that table.
    let entries: Int
    /// The granter's arena memory file.
    let arena: Int32
    /// Pages in that arena.
    let pages: Int
    /// How many mappings of each reference this domain holds, read-only and writable.
    var pins: [GrantRef: (readers: Int, writers: Int)] = [:]

    /// Connects as `me` to `domain`'s socket in `directory`, checks the peer and its hello reply.
    init(to domain: DomainID, as me: DomainID, directory: String) throws(PlatformError) {
        let path = LoopbackWire.socketPath(directory: directory, domain: domain)
        let socket = cxp_connect_unix(path)
        guard socket >= 0 else {
            throw .peerUnreachable(domain, reason: "cannot connect to \(path): errno \(-socket)")
        }
        var received: LoopbackWire.Message?
        do throws(PlatformError) {
            guard LoopbackWire.peerIsTrusted(socket) else {
                throw .peerUnreachable(domain, reason: "\(path) is served by another user")
            }
            try LoopbackWire.send([LoopbackWire.magic, LoopbackWire.version | UInt32(me.rawValue) << 16], on: socket)
            received = try LoopbackWire.receive(on: socket, timeout: LoopbackWire.replyTimeout)
            guard let reply = received else { throw .peerUnreachable(domain, reason: "closed the connection at hello") }
            try Self.checkStatus(reply, domain: domain, words: 3, descriptors: 2)
            let (entries, pages) = (Int(reply.words[1]), Int(reply.words[2]))
            guard (LoopbackPlatform.reservedEntries + 1...LoopbackPlatform.maximumEntries).contains(entries),
                  (1...LoopbackPlatform.maximumPages).contains(pages),
                  cxp_memfd_is_sealed(reply.descriptors[0], UInt64(entries * GrantEntryV1.size)) == 1,
                  cxp_memfd_is_sealed(reply.descriptors[1], UInt64(pages * GrantPage.size)) == 1
            else {
                throw .protocolViolation(domain, reason: "grant table of \(entries) entries or arena of \(pages) pages not as sent")
            }
            table = try MappedFile(mapping: reply.descriptors[0], byteCount: entries * GrantEntryV1.size)
            self.entries = entries
            self.pages = pages
            arena = reply.descriptors[1]
        } catch {
            received?.closeDescriptors()
            Glibc.close(socket)
            throw error
        }
        self.domain = domain
        self.socket = socket
    }

    /// Throws the error a reply's status names, or when a success does not carry exactly `words`
    /// words and `descriptors` descriptors. `port` is the port a bind reply answers.
    static func checkStatus(
        _ reply: LoopbackWire.Message, domain: DomainID, words: Int, descriptors: Int, port: EventPort? = nil
    ) throws(PlatformError) {
        guard let first = reply.words.first, let status = LoopbackWire.Status(rawValue: first) else {
            throw .protocolViolation(domain, reason: "reply \(reply.words) has no known status")
        }
        switch status {
        case .ok:
            guard reply.words.count == words, reply.descriptors.count == descriptors else {
                throw .protocolViolation(domain, reason: "reply of \(reply.words.count) words and \(reply.descriptors.count) descriptors")
            }
        case .domainAlreadyConnected: throw .peerUnreachable(domain, reason: "refused: this domain is already connected")
        case .credentialsRefused: throw .peerUnreachable(domain, reason: "refused: this process's user is not trusted")
        case .portNotOffered: throw .portNotOffered(port ?? EventPort(0), by: domain)
        case .badRequest: throw .protocolViolation(domain, reason: "it found our request malformed")
        }
    }

    /// Whether the granting process is gone.
    var isGone: Bool { LoopbackWire.peerIsGone(socket) }

    deinit {
        Glibc.close(arena)
        Glibc.close(socket)
    }
}
