// Scenario 2's frontend: BlkFront on Xen's libraries in dom0, as the frontend domain of a vbd
// that dom0's Linux xen-blkback serves from a loop device (as `xl block-attach 0` sets up for
// Linux's own blkfront).

import BlkFront
import Foundation
import XenBus
import XenPlatform
import XenStore

/// `attach <devid> <seed> <pattern-MiB> <random-ops> <seconds>`: attaches dom0's frontend of
/// vbd `devid` (created beforehand, backend dom0) asking for 16 indirect segments, writes a
/// seeded pattern, reads it back and compares byte for byte, writes and reads it all again in
/// 1 MiB calls (64 KiB indirect requests: Linux's blkback announces them only as it connects),
/// runs random 4 KiB reads and writes (half each) at queue depth 1 and 8 checking every read
/// against the last write, flushes, discards when offered, and closes.
enum AttachCommand {
    static func run(_ words: [String]) async throws -> Int32 {
        guard words.count == 5, let id = UInt32(words[0]), let seed = UInt64(words[1]), let mib = Int(words[2]),
              let operations = Int(words[3]), let seconds = Int(words[4]), mib >= 1 else {
            print("usage: attach <devid> <seed> <pattern-MiB> <random-ops> <seconds>")
            return 2
        }
        let platform = try XenHostPlatform()
        let store = try XenStoreClient(timeout: .seconds(30))
        defer { store.close() }
        let vbd = VirtualBlockDevice(frontendDomain: .dom0, id: DeviceID(id))
        let started = ContinuousClock.now
        let device = try BlockDevice.attach(store: store, device: vbd, grants: platform.grants, events: platform.events,
                                            options: FrontendOptions(ringPages: 4, queueDepth: 32, indirectSegments: Self.indirectSegments),
                                            timeout: .seconds(seconds))
        line("ATTACHED \(vbd) in \(started.duration(to: .now)): \(device.capacity / 512) sectors, "
             + "\(device.connection), requests up to \(device.maximumRequestBytes) bytes, queue depth \(device.queueDepth)")
        var workload = Workload(device: device, seed: seed, blocks: mib * 256)
        defer { device.close() }
        do {
            guard device.connection.requestLimits.maximumIndirectSegments == Self.indirectSegments else {
                line("ATTACH FAIL \(device.connection.requestLimits.maximumIndirectSegments) indirect segments settled, "
                     + "expected \(Self.indirectSegments) (Linux's blkback offers 256 as it connects)")
                return 1
            }
            try await workload.writePatternAndVerify()
            try await workload.largeTransfersAndVerify()
            try await workload.random(operations: operations, depth: 1)
            try await workload.random(operations: operations, depth: 8)
            try await workload.flushAndDiscard()
        } catch {
            line("ATTACH FAIL \(error) (seed \(seed))")
            return 1
        }
        line("ATTACH PASS (seed \(seed))")
        return 0
    }

    /// Indirect segments asked for: 32 slots of 17 pages, with the 11-page slots granted before
    /// Connected, stay under gntalloc's default limit of 1024 pages.
    static let indirectSegments = 16
}
