// Ring memory placed on one NUMA node with libnuma, shared by our runs and the C reference's.

import CNuma
import Glibc

/// The machine's NUMA layout as libnuma reports it.
struct NumaTopology: Sendable {
    /// Whether libnuma works here (`numa_available() >= 0`).
    let available: Bool
    /// Nodes on the machine (`numa_max_node() + 1`), 1 when libnuma is unavailable.
    let nodeCount: Int

    /// Asks libnuma.
    static func probe() -> NumaTopology {
        guard numa_available() >= 0 else { return NumaTopology(available: false, nodeCount: 1) }
        return NumaTopology(available: true, nodeCount: Int(numa_max_node()) + 1)
    }

    /// The node of `cpu`, or 0 when unknown.
    func node(ofCPU cpu: Int) -> Int {
        guard available else { return 0 }
        return max(0, Int(numa_node_of_cpu(Int32(cpu))))
    }
}

/// Page-aligned memory for one ring and its two event counters, on a chosen node.
///
/// The ring pages and the event page are separate allocations so the counters never share a
/// cache line with ring indexes.
final class RingMemory {
    /// The ring: `byteCount` bytes.
    let ring: UnsafeMutableRawPointer
    /// The event counters: one page, the first 8 bytes used.
    let events: UnsafeMutableRawPointer
    /// Bytes of ring memory.
    let byteCount: Int
    private let numa: Bool

    /// Allocates `byteCount` bytes on `node` (numa_alloc_onnode), or plain pages without libnuma.
    init(byteCount: Int, node: Int, topology: NumaTopology) {
        self.byteCount = byteCount
        numa = topology.available
        ring = Self.allocate(byteCount, node: node, numa: numa)
        events = Self.allocate(4096, node: node, numa: numa)
    }

    deinit {
        if numa {
            numa_free(ring, byteCount)
            numa_free(events, 4096)
        } else {
            free(ring)
            free(events)
        }
    }

    /// Zeroes the ring and the counters before a run.
    func clear() {
        memset(ring, 0, byteCount)
        memset(events, 0, 4096)
    }

    private static func allocate(_ bytes: Int, node: Int, numa: Bool) -> UnsafeMutableRawPointer {
        if numa {
            guard let memory = numa_alloc_onnode(bytes, Int32(node)) else { fatalError("numa_alloc_onnode(\(bytes), \(node)) failed") }
            memset(memory, 0, bytes)  // fault the pages in on the node now
            return memory
        }
        var memory: UnsafeMutableRawPointer?
        precondition(posix_memalign(&memory, 4096, bytes) == 0, "out of memory")
        memset(memory!, 0, bytes)
        return memory!
    }
}
