// `blkif demo`: the whole system on one machine in one command.

import ArgumentParser
import Foundation
import XenBus
import XenStore

/// `blkif demo`: an embedded XenStore in this process, a backend serving a fresh image and a
/// frontend, each in its own process, meeting only through the store and the platform.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole system: an embedded XenStore, a backend on a temporary image, a frontend; verify, benchmark, summarise.")

    @Option(help: "Size of the temporary image (random data).")
    var size = ByteSize(bytes: 64 << 20)

    @Option(help: "Seconds of each benchmark (random reads, then random writes, 4 KiB at queue depth 32).")
    var seconds = 2

    @Option(help: "Random operations of the verify pass.")
    var operations = 300

    @Option(help: "Queues the benchmark uses (its 32 I/Os in flight are spread over them; each has its own ring and backend thread).")
    var benchQueues = 2

    @Flag(help: "Also run fio's psync and io_uring engines on the image and print the ratios (needs fio).")
    var compareFio = false

    @Option(help: "Keep the temporary directory here instead of a fresh one (it is not removed).")
    var directory: String?

    func run() async throws {
        let started = ContinuousClock.now
        let directory = try self.directory ?? Self.temporaryDirectory()
        defer { if self.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let socket = directory + "/xenstored.sock", platform = directory + "/platform", image = directory + "/disk.img"
        try FileManager.default.createDirectory(atPath: platform, withIntermediateDirectories: true)
        announce("blkif demo in \(directory)")
        announce("1. an image of \(size) of random data: \(image)")
        try Self.writeRandomImage(at: image, bytes: size.bytes)

        announce("2. the XenStore, embedded in this process: \(socket) (domain 0), \(socket).d1 (domain 1)")
        let server = try XenStoreServer(socketPath: socket, store: InMemoryXenStore())
        _ = try server.introduce(DomainID(1))
        server.start()
        defer { server.stop() }

        let common = ["--socket", socket, "--platform-dir", platform]
        announce("3. the backend (domain 0): blkif serve \(image)")
        let backend = try RoleProcess(name: "backend", arguments: ["serve", image, "--frontend-domain", "1"] + common)
        defer { backend.stop(timeout: .seconds(5)) }

        announce("4. the frontend (domain 1): write a seeded pattern, read it back, \(operations) random operations")
        try RoleProcess(name: "frontend", arguments: ["attach", "verify", "--domain", "1", "--operations", String(operations)] + common)
            .expectSuccess(timeout: .seconds(300))
        for pattern in ["randread", "randwrite"] {
            announce("5. the frontend: \(pattern), 4 KiB at queue depth 32 over \(benchQueues) queue(s) for \(seconds) s")
            let arguments = ["attach", "bench", "--domain", "1", "--rw", pattern, "--seconds", String(seconds),
                             "--queues", String(benchQueues)] + common
                + (compareFio ? ["--compare-fio"] : [])
            try RoleProcess(name: "frontend", arguments: arguments).expectSuccess(timeout: .seconds(Int64(seconds * 4 + 60)))
        }

        announce("6. the toolstack removes the device; the backend stops")
        let toolstack = try XenStoreClient(socketPath: socket, timeout: .seconds(5))
        try Toolstack.removeDevice(VirtualBlockDevice(frontendDomain: DomainID(1), id: DeviceID(51712)), from: toolstack)
        toolstack.close()
        backend.stop(timeout: .seconds(5))
        announce("blkif demo: done in \(ContinuousClock.now - started); the backend and each frontend ran in their own process, "
                 + "sharing only XenStore nodes, granted pages and event channels")
    }

    /// A fresh private directory under the system's temporary directory.
    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/blkif-demo-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ValidationError("cannot create a temporary directory in \(NSTemporaryDirectory())")
        }
        return String(cString: made)
    }

    /// Writes `bytes` of seeded random data to a new file at `path` (not sparse).
    static func writeRandomImage(at path: String, bytes: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot create \(path)")
        }
        defer { try? file.close() }
        var random = SplitMix(seed: 0xB1_0C)
        var chunk = [UInt64](repeating: 0, count: 1 << 17)  // 1 MiB
        var written = 0
        while written < bytes {
            for index in chunk.indices { chunk[index] = random.next() }
            let length = min(chunk.count * 8, bytes - written)
            try chunk.withUnsafeBytes { try file.write(contentsOf: Data($0.prefix(length))) }
            written += length
        }
    }
}


/// Prints a line at once (standard output is block-buffered when it is a pipe).
private func announce(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
