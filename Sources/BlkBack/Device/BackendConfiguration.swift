// What a backend offers and how it serves, chosen by whoever starts it.

import BlkifABI
import XenBus

/// How a backend reaches the data in a frontend's granted pages.
public enum DataPath: String, Hashable, Sendable, CaseIterable {
    /// Each page is mapped into this process and the disk reads and writes it in place (no copy);
    /// with persistent grants a page stays mapped across requests.
    case mapping
    /// Nothing of the frontend but its rings is mapped: the platform copies each segment between
    /// the granted page and a private buffer the disk reads and writes (Xen's grant copy, as
    /// QEMU's xen-block). Persistent grants are not offered: they would only add a copy.
    case copying
}

/// The limits a backend offers its frontends and how it performs requests.
///
/// Values outside what the protocol allows are brought into range by ``BackendOffer``.
public struct BackendConfiguration: Hashable, Sendable {
    /// Most ring pages offered (1…16; `max-ring-pages`).
    public var maximumRingPages: Int
    /// Most segments of a request with segment blocks (11…255; `max-request-segments`).
    public var maximumSegments: Int
    /// Most segments of an indirect request (0…4096, 0: not offered; `feature-max-indirect-segments`).
    public var maximumIndirectSegments: Int
    /// Most queues (`multi-queue-max-queues`).
    public var maximumQueues: Int
    /// Whether persistent grants are offered (`feature-persistent`); never with ``DataPath/copying``.
    public var persistentGrants: Bool
    /// Most persistent grants kept mapped per ring (least recently used unmapped first).
    public var persistentGrantLimit: Int
    /// I/O threads per ring: 0 performs each request on the ring's own thread (fastest for a
    /// disk in the page cache); more keep several requests in flight against the disk.
    public var ioThreads: Int
    /// How the data moves: mapped in place, or copied by the platform (a platform that cannot
    /// copy maps instead).
    public var dataPath: DataPath

    /// The defaults: 16 pages, 255 segments, 256 indirect segments (1 MiB), 4 queues,
    /// persistent grants (1056 per ring, Linux's default), requests performed on the ring's
    /// thread, pages mapped.
    public init(maximumRingPages: Int = 16, maximumSegments: Int = 255, maximumIndirectSegments: Int = 256, maximumQueues: Int = 4,
                persistentGrants: Bool = true, persistentGrantLimit: Int = 1056, ioThreads: Int = 0, dataPath: DataPath = .mapping) {
        self.maximumRingPages = maximumRingPages
        self.maximumSegments = maximumSegments
        self.maximumIndirectSegments = maximumIndirectSegments
        self.maximumQueues = maximumQueues
        self.persistentGrants = persistentGrants
        self.persistentGrantLimit = persistentGrantLimit
        self.ioThreads = max(ioThreads, 0)
        self.dataPath = dataPath
    }

    /// The offer published for a disk on `storage`.
    func offer(for storage: any BlockStorage) -> BackendOffer {
        let discard = storage.discardSupport.map {
            DiscardSupport(granularity: $0.granularity, alignment: $0.alignment, secure: $0.secure)
        }
        return BackendOffer(maximumRingPages: maximumRingPages, maximumSegments: maximumSegments,
                            maximumIndirectSegments: maximumIndirectSegments, maximumQueues: maximumQueues,
                            features: BackendFeatures(barrier: true, flushCache: true, discard: discard, persistentGrants: persistentGrants && dataPath == .mapping))
    }
}
