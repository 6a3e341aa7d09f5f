// The peer's commands: share, map, fill, check, end, unmap, and event-channel ports.

import BlkifABI
import Glibc
import XenPlatform
import XenStore

/// A malformed command or a failed check, reported as "error <description>".
struct PeerFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What the peer holds, by handle: shared pages, mapped pages, ports.
final class PeerSession {
    let platform: LoopbackPlatform
    private var shares: [Int: SharedPages] = [:]
    private var mappings: [Int: MappedPages] = [:]
    private var ports: [Int: LoopbackEventPort] = [:]
    private var nextHandle = 1

    init(platform: LoopbackPlatform) { self.platform = platform }

    /// Runs one command; returns the text after "ok".
    ///
    /// - `share <domain> ro|rw <count>` → `<handle> <ref>...`; `end <handle>`
    /// - `map <domain> ro|rw <ref>...` → `<handle>`; `unmap <handle>`
    /// - `fill <handle> <seed>`, `check <handle> <seed>`: the seeded pattern over shared or mapped pages
    /// - `unbound <domain>` → `<handle> <port>`; `bind <domain> <port>` → `<handle> <port>`;
    ///   `notify <handle>`; `wait <handle> <ms>` → `event` | `timeout`; `close <handle>`;
    ///   `counters <handle>` → `sent <n> wakes <n> received <n>`
    /// - `echo-events`, `send-events`, `ring-front`, `ring-back`: see EventStress.swift, RingRoles.swift
    func run(_ command: String, _ words: [String]) throws -> String {
        switch command {
        case "share":
            let pages = try platform.share(pageCount: try number(words, 2), with: try domain(words, 0), access: try access(words, 1))
            return "\(remember(&shares, pages)) " + pages.refs.map { "\($0.rawValue)" }.joined(separator: " ")
        case "end":
            guard let pages = shares[try number(words, 0)] else { throw PeerFailure("no share handle \(words[0])") }
            try platform.endSharing(pages)  // still shared when this throws: it can be ended again
            shares[try number(words, 0)] = nil
            return "ended"
        case "map":
            let refs = try words.dropFirst(2).map { word in
                guard let raw = UInt32(word) else { throw PeerFailure("bad reference \(word)") }
                return GrantRef(raw)
            }
            return "\(remember(&mappings, try platform.map(refs, grantedBy: try domain(words, 0), access: try access(words, 1))))"
        case "unmap":
            try platform.unmap(try take(&mappings, words))
            return "unmapped"
        case "fill":
            let (base, count) = try region(words)
            Pattern.fill(base, count: count, seed: UInt64(try number(words, 1)))
            return "filled"
        case "check":
            let (base, count) = try region(words)
            if let offset = Pattern.firstMismatch(base, count: count, seed: UInt64(try number(words, 1))) {
                throw PeerFailure("pattern mismatch at byte \(offset)")
            }
            return "matches"
        case "unbound":
            let port = try platform.allocateUnboundPort(for: try domain(words, 0))
            return "\(remember(&ports, port)) \(port.port.rawValue)"
        case "bind":
            let port = try platform.bind(to: try domain(words, 0), port: EventPort(UInt32(try number(words, 1))))
            return "\(remember(&ports, port)) \(port.port.rawValue)"
        case "notify":
            try port(words).signal()
            return "notified"
        case "wait":
            return try port(words).waitForEvent(timeout: .milliseconds(try number(words, 1))) ? "event" : "timeout"
        case "counters":
            let port = try port(words)
            return "sent \(port.notificationsSent) wakes \(port.eventsReceived) received \(port.notificationsReceived)"
        case "close":
            try take(&ports, words).close()
            return "closed"
        case "echo-events":
            return try EventStress.echo(port: try port(words), page: try region(words, at: 1).base,
                                        last: UInt64(try number(words, 2)), seed: UInt64(try number(words, 3)))
        case "send-events":
            return try EventStress.send(port: try port(words), page: try region(words, at: 1).base,
                                        notifications: try number(words, 2), seed: UInt64(try number(words, 3)))
        case "ring-front":
            let (base, count) = try region(words, at: 1)
            return try RingRoles.front(base: base, pages: count / GrantPage.size, port: try port(words), requests: try number(words, 2))
        case "ring-back":
            let (base, count) = try region(words, at: 1)
            return try RingRoles.back(base: base, pages: count / GrantPage.size, port: try port(words), requests: try number(words, 2))
        default:
            throw PeerFailure("unknown command \(command)")
        }
    }

    private func remember<T>(_ table: inout [Int: T], _ value: T) -> Int {
        defer { nextHandle += 1 }
        table[nextHandle] = value
        return nextHandle
    }

    private func take<T>(_ table: inout [Int: T], _ words: [String]) throws -> T {
        let handle = try number(words, 0)
        guard let value = table.removeValue(forKey: handle) else { throw PeerFailure("no handle \(handle)") }
        return value
    }

    private func port(_ words: [String]) throws -> LoopbackEventPort {
        let handle = try number(words, 0)
        guard let port = ports[handle] else { throw PeerFailure("no port handle \(handle)") }
        return port
    }

    /// The shared or mapped pages named by handle `words[index]`.
    private func region(_ words: [String], at index: Int = 0) throws -> (base: UnsafeMutableRawPointer, count: Int) {
        let handle = try number(words, index)
        if let pages = shares[handle] { return (pages.base, pages.byteCount) }
        if let pages = mappings[handle] { return (pages.base, pages.byteCount) }
        throw PeerFailure("no pages handle \(handle)")
    }

    private func number(_ words: [String], _ index: Int) throws -> Int {
        guard index < words.count, let value = Int(words[index]) else { throw PeerFailure("argument \(index + 1) must be a number") }
        return value
    }

    private func domain(_ words: [String], _ index: Int) throws -> DomainID {
        guard let value = UInt16(exactly: try number(words, index)) else { throw PeerFailure("bad domain") }
        return DomainID(value)
    }

    private func access(_ words: [String], _ index: Int) throws -> GrantAccess {
        guard index < words.count, ["ro", "rw"].contains(words[index]) else { throw PeerFailure("access must be ro or rw") }
        return words[index] == "ro" ? .readOnly : .readWrite
    }
}

/// The bytes both processes derive from a seed, to prove what one wrote the other reads.
enum Pattern {
    static func byte(_ offset: Int, seed: UInt64) -> UInt8 {
        var value = (seed &+ UInt64(offset)) &* 0x9E37_79B9_7F4A_7C15
        value ^= value >> 29
        return UInt8(truncatingIfNeeded: value)
    }

    static func fill(_ base: UnsafeMutableRawPointer, count: Int, seed: UInt64) {
        for offset in 0..<count { base.storeBytes(of: byte(offset, seed: seed), toByteOffset: offset, as: UInt8.self) }
    }

    static func firstMismatch(_ base: UnsafeRawPointer, count: Int, seed: UInt64) -> Int? {
        (0..<count).first { base.load(fromByteOffset: $0, as: UInt8.self) != byte($0, seed: seed) }
    }
}
