// A request taken off the ring, decoded and checked, waiting to be performed.

import BlkifABI
import Glibc
import XenPlatform

/// What performing a request means, decided when it is taken off the ring.
enum RequestWork {
    /// Sectors from the disk into the segments' pages.
    case read
    /// Sectors from the segments' pages to the disk.
    case write
    /// Earlier writes complete first; then its segments are written and made durable.
    case writeBarrier
    /// Its segments (if any) are written, then every completed write made durable.
    case flush
    /// The sectors' contents are released (or zeroed and synced when `secure`).
    case discard(sectorCount: UInt64, secure: Bool)
    /// Segments in indirect pages, read or written once they are copied out and checked.
    case indirect(IndirectTransfer)
    /// Nothing to perform: the request is answered with this status (it was refused).
    case answered(Status)

    /// Whether it must wait for every earlier request and hold back every later one.
    var isOrdered: Bool {
        switch self {
        case .writeBarrier, .flush: true
        default: false
        }
    }
}

/// One request in flight and the private memory to perform it: its segments (copied out of the
/// ring's private copy or the indirect pages), the pages they map to and the `iovec`s of its
/// transfer, or (copying) the grant copies and the buffer the data passes through. Allocated
/// once per in-flight slot; nothing is allocated per request on the persistent-grant and the
/// copying paths.
final class RequestSlot {
    /// The frontend's tag, echoed.
    var id = RequestID(0)
    /// The operation its response echoes.
    var operation = Operation.read
    /// Ring entries the request occupied (its response reserves as many).
    var entryCount = 1
    /// What to do.
    var work = RequestWork.answered(.error)
    /// First disk sector.
    var sector = Sector(0)
    /// Segments held in ``segments``.
    var segmentCount = 0
    /// Room for the most segments a request may carry.
    let segments: UnsafeMutablePointer<Segment>
    /// The page of each segment while the request runs.
    let pages: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Persistent grants held while the request runs.
    let persistent: UnsafeMutablePointer<GrantedPage>
    /// Persistent grants initialised in ``persistent``.
    var persistentCount = 0
    /// Mappings made for this request only (no persistent grants), undone after it.
    var transient: [MappedPages] = []
    /// One `iovec` per segment.
    let vectors: UnsafeMutablePointer<iovec>
    /// Private copy of an indirect request's segments (read once from the indirect pages).
    let indirectCopy: UnsafeMutableRawBufferPointer
    /// Segments the buffers hold at most.
    let capacity: Int
    /// The copying path's buffers; present exactly when the slot was made for copying.
    let copyBuffers: CopyBuffers?

    /// A slot for requests of at most `segmentCapacity` segments, with the copying path's
    /// buffers when `copying`.
    ///
    /// - Throws: ``PlatformError/systemCall(_:errno:)`` when the system refuses the copy buffer's
    ///   address space; nothing is left allocated.
    init(segmentCapacity: Int, copying: Bool = false) throws(PlatformError) {
        capacity = max(segmentCapacity, 1)
        // First, so that a refusal leaves nothing to free.
        copyBuffers = copying ? try CopyBuffers(segmentCapacity: capacity) : nil
        segments = .allocate(capacity: capacity)
        segments.initialize(repeating: Segment(grant: GrantRef(0)), count: capacity)
        pages = .allocate(capacity: capacity)
        pages.initialize(repeating: nil, count: capacity)
        persistent = .allocate(capacity: capacity)
        vectors = .allocate(capacity: capacity)
        vectors.initialize(repeating: iovec(), count: capacity)
        indirectCopy = .allocate(byteCount: capacity * 8, alignment: 8)
        transient.reserveCapacity(4)
    }

    deinit {
        persistent.deinitialize(count: persistentCount)
        persistent.deallocate()
        segments.deallocate()
        pages.deallocate()
        vectors.deallocate()
        indirectCopy.deallocate()
        copyBuffers?.free()
    }
}

/// The memory a slot's request passes through when its data is copied rather than mapped.
struct CopyBuffers {
    /// One grant copy per segment.
    let copies: UnsafeMutablePointer<GrantCopy>
    /// The data of a transfer, its segments one after another, a page each at most (reserved
    /// address space, given memory as it is first touched).
    let bounce: UnsafeMutableRawPointer
    /// Bytes reserved at ``bounce``.
    let byteCount: Int

    /// Buffers for requests of at most `segmentCapacity` segments.
    ///
    /// - Throws: ``PlatformError/systemCall(_:errno:)`` naming the size the system refused.
    init(segmentCapacity: Int) throws(PlatformError) {
        let (bytes, overflow) = segmentCapacity.multipliedReportingOverflow(by: GrantPage.size)
        guard !overflow else { throw .systemCall("mmap of \(segmentCapacity) pages for a copy buffer", errno: EOVERFLOW) }
        let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let memory, memory != MAP_FAILED else {
            throw .systemCall("mmap of \(bytes) bytes for a copy buffer", errno: errno)
        }
        bounce = memory
        byteCount = bytes
        copies = .allocate(capacity: segmentCapacity)
    }

    /// Returns the memory (the slot's deinit).
    func free() {
        copies.deallocate()
        munmap(bounce, byteCount)
    }
}
