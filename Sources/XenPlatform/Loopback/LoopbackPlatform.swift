// Xen's grant tables and event channels for processes on one Linux machine.

import BlkifABI
import CXenPlatform
import Glibc
import Synchronization
import XenStore

/// One domain's grant table and event channels, between ordinary processes on one Linux machine.
///
/// Each domain is a process (or part of one) holding a `LoopbackPlatform`. Its granted pages live
/// in a memory arena it owns (a sealed memfd); its grant table is a second memfd in Xen's
/// `grant_entry_v1` shape. It serves both at `<directory>/domain-<id>.sock`: a peer that maps its
/// grants or binds to its ports connects there, is checked (`SO_PEERCRED`: same user or root;
/// one connection per domain), and receives the memory files and eventfds over `SCM_RIGHTS`.
/// The mapping side then checks each grant entry itself, as the hypervisor would. So only grant
/// references and port numbers need to pass between the two ends, exactly as over XenStore on Xen.
///
/// A domain's identity is the `domain` it is created with; the socket directory is the trust
/// boundary (any process of the same user may claim any domain). Call ``close()`` when done.
public final class LoopbackPlatform: @unchecked Sendable {  // safe: mutable state is behind the two mutexes
    /// This domain.
    public let domain: DomainID
    /// The socket this domain serves its grants and ports on.
    public let socketPath: String
    /// Where every domain's socket lives.
    public let directory: String
    /// Entries in this domain's grant table (references 0...7 are reserved, as on Xen).
    public let grantEntries: Int
    /// Pages in this domain's arena: the most it can share at once.
    public let arenaPages: Int

    let table: MappedFile
    let arena: MappedFile
    /// What the granting side and the server thread share.
    let granting: Mutex<GrantingState>
    /// What the mapping (client) side holds; never taken by the server thread.
    let mapping: Mutex<MappingState>
    let nextPort = Atomic<UInt32>(1)
    let server: LoopbackServer

    /// The references Xen reserves for the toolstack (`GNTTAB_NR_RESERVED_ENTRIES`).
    static let reservedEntries = 8
    /// The largest grant table and arena a peer may announce (a hostile hello is refused).
    static let maximumEntries = 1 << 16, maximumPages = 1 << 18

    /// Starts `domain`'s platform, serving at `<directory>/domain-<id>.sock` (replacing a stale socket).
    /// - Parameters:
    ///   - grantEntries: grant references available (9...65536).
    ///   - arenaPages: pages that can be shared at once (1...262144).
    ///   - numaNode: the NUMA node whose memory backs the arena (ring and data pages), or `nil`
    ///     for the kernel's default placement.
    /// - Throws: ``PlatformError/invalidCount(_:limit:)`` for a size out of range,
    ///   ``PlatformError/systemCall(_:errno:)`` (`mbind`, `EINVAL`) for a node the machine lacks.
    public init(
        domain: DomainID, directory: String, grantEntries: Int = 4096, arenaPages: Int = 2048, numaNode: Int? = nil
    ) throws(PlatformError) {
        guard (Self.reservedEntries + 1...Self.maximumEntries).contains(grantEntries) else {
            throw .invalidCount(grantEntries, limit: Self.maximumEntries)
        }
        guard (1...Self.maximumPages).contains(arenaPages) else { throw .invalidCount(arenaPages, limit: Self.maximumPages) }
        self.domain = domain
        self.directory = directory
        self.grantEntries = grantEntries
        self.arenaPages = arenaPages
        socketPath = LoopbackWire.socketPath(directory: directory, domain: domain)
        table = try MappedFile(creating: "grant-table-\(domain.rawValue)", byteCount: grantEntries * GrantEntryV1.size)
        arena = try MappedFile(creating: "grant-arena-\(domain.rawValue)", byteCount: arenaPages * GrantPage.size)
        if let numaNode {  // before any page is touched, so each is allocated on the node
            try SystemCall.check(cxp_bind_to_node(arena.base, arena.byteCount, Int32(clamping: numaNode)), "mbind(node \(numaNode))")
        }
        granting = Mutex(GrantingState(entries: grantEntries, pages: arenaPages))
        mapping = Mutex(MappingState())
        server = try LoopbackServer(path: socketPath)
        server.start(self)
    }

    /// Stops serving and removes the socket. Pages and ports already handed out stay valid in the
    /// peers that hold them; mappings this domain holds stay valid until unmapped. Idempotent.
    public func close() {
        server.stop()
    }

    deinit { server.stop() }
}

/// The granting side's books: free references and pages, live shares, and the connections of
/// the domains that map them (the server thread's too).
struct GrantingState {
    var freeRefs: [GrantRef]
    var pages: PageRunAllocator
    /// Live shares by base address.
    var shares: [Int: SharedPages] = [:]
    /// The connection of each peer domain that reached this one (at most one per domain).
    var peers: [DomainID: Int32] = [:]
    /// Ports allocated and not yet bound, with the descriptors the binder will get.
    var unbound: [EventPort: UnboundPort] = [:]
    /// Peer connections dropped by another thread, for the server thread to close.
    var retired: [Int32] = []

    init(entries: Int, pages: Int) {
        freeRefs = (LoopbackPlatform.reservedEntries..<entries).reversed().map { GrantRef(UInt32($0)) }
        self.pages = PageRunAllocator(pages: pages)
    }
}

/// An allocated port waiting for its peer to bind.
struct UnboundPort {
    /// The domain allowed to bind.
    let remote: DomainID
    /// Towards the allocator, towards the binder, and the binder's end of the liveness pair.
    let handOver: [Int32]
}

/// The mapping side's books: connections to granting domains and live mappings.
struct MappingState {
    /// The connection to each granting domain, replaced when its process is gone.
    var granters: [DomainID: PeerConnection] = [:]
    /// Live mappings by base address, with the connection they came through.
    var mappings: [Int: (pages: MappedPages, connection: PeerConnection)] = [:]
}

/// Contiguous runs of free pages in the arena (first fit).
struct PageRunAllocator {
    private var used: [Bool]

    /// An allocator over `pages` free pages.
    init(pages: Int) { used = Array(repeating: false, count: pages) }

    /// The first page of a free run of `count` pages, now taken; `nil` when none is long enough.
    mutating func take(_ count: Int) -> Int? {
        var runStart = 0
        for page in used.indices {
            if used[page] {
                runStart = page + 1
            } else if page - runStart + 1 == count {
                for taken in runStart...page { used[taken] = true }
                return runStart
            }
        }
        return nil
    }

    /// Frees `count` pages from `first`.
    mutating func give(_ first: Int, count: Int) {
        for page in first..<first + count { used[page] = false }
    }
}
