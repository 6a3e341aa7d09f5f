// Scenario 1's backend: BlkBack on Xen's libraries in dom0, serving an image file to a domU
// whose Linux xen-blkfront attaches.

import BlkBack
import Glibc
import XenBus
import XenStore

/// `serve <frontend-domid> <devid> <image> <max-ring-pages> <seconds>`: creates the vbd with
/// our device-creation function (backend dom0, type `file`), serves it with ``BackendDevice``
/// until the toolstack removes it (detach) or `seconds` pass, then prints the statistics.
/// Prints "SERVING <backend-path>" once started; exits 0 when the device ended by detach.
enum ServeCommand {
    static func run(_ words: [String]) throws -> Int32 {
        guard words.count == 5, let frontend = UInt16(words[0]), let id = UInt32(words[1]),
              let ringPages = Int(words[3]), let seconds = Int(words[4]) else {
            print("usage: serve <frontend-domid> <devid> <image> <max-ring-pages> <seconds>")
            return 2
        }
        let platform = try XenDomainPlatform()
        let storage = try FileStorage(path: words[2])
        let device = VirtualBlockDevice(frontendDomain: DomainID(frontend), id: DeviceID(id))
        let toolstack = try XenStoreClient(timeout: .seconds(30))
        defer { toolstack.close() }
        try step("creating \(device)") {
            try Toolstack.createDevice(device, configuration: DeviceConfiguration(params: words[2], type: "file"), in: toolstack)
        }
        let session = try XenStoreClient(timeout: .seconds(30))
        defer { session.close() }
        let backend = BackendDevice(device: device, store: session, platform: platform, storage: storage,
                                    configuration: BackendConfiguration(maximumRingPages: ringPages))
        try step("starting the backend") { try backend.start() }
        line("SERVING \(device.backendPath) (\(storage.byteCount / 512) sectors, up to \(ringPages) ring pages)")
        let ended = backend.wait(timeout: .seconds(seconds))
        if !ended { backend.stop() }
        line("SERVED \(backend.statistics.summary)\(backend.closeReason.map { "; closed: \($0)" } ?? "")"
             + (ended ? "" : "; still attached after \(seconds) s, stopped"))
        return ended ? 0 : 1
    }
}

/// Runs `body`, naming `what` in the error if it fails.
func step(_ what: String, _ body: () throws -> Void) throws {
    do { try body() } catch { throw StepFailure(step: what, error: error) }
}

/// A failure of one named step.
struct StepFailure: Error, CustomStringConvertible {
    let step: String
    let error: any Error
    var description: String { "\(step): \(error)" }
}

/// Prints `text` and flushes at once (the scenario script reads the log as it grows).
func line(_ text: String) {
    print(text)
    fflush(nil)
}
