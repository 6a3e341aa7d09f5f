// The state machine across three processes: blkif-xenstored, a backend (domain 0) and a frontend
// (domain 5 on its own socket, so the store enforces the device's permissions), each a separate
// program; Debian's xenstore-ls shows the connected device.

import Foundation
import TestSupport
import XCTest
import XenBus
import XenStore

final class ThreeProcessTests: XCTestCase {
    static let timeout = Duration.seconds(20)
    static let xenstoreLs = "/usr/bin/xenstore-ls"

    /// The directory holding this package's built programs (the test bundle's own).
    static var productsDirectory: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent() }

    private func program(_ name: String) throws -> String {
        let path = Self.productsDirectory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CPeerError("\(path) is missing: build the package's programs first (`swift build --build-tests`)")
        }
        return path
    }

    func testBackendAndFrontendProcessesConnectAndCloseThroughBlkifXenstored() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.xenstoreLs) else {
            return XCTFail("\(Self.xenstoreLs) is missing: install Debian's xenstore-utils (`make deps` does)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xenbus-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("socket").path
        let store = try ChildProcess.start(try program("blkif-xenstored"), ["--socket", socket, "--foreground", "--introduce", "5"])
        var children = [store]
        defer { for child in children { stop(child) } }
        try waitUntil("the store listens on \(socket)") { FileManager.default.fileExists(atPath: socket) }

        let toolstack = try XenStoreClient(socketPath: socket, timeout: .seconds(5))
        let device = VirtualBlockDevice(frontendDomain: DomainID(5), id: DeviceID(51712))
        try Toolstack.createDevice(device, configuration: DeviceConfiguration(params: "/images/guest.img"), in: toolstack)
        // Where the toolstack tells the guest to unplug the disk (as `control/shutdown` tells it to stop).
        let unplug: XenStorePath = "/local/domain/5/control/unplug"
        try toolstack.mkdir("/local/domain/5/control")
        try toolstack.setPermissions(Permissions(owner: DomainID(5)), of: "/local/domain/5/control")
        let common = ["--socket", socket, "--frontend-domain", "5", "--device", "51712"]
        let backend = try ChildProcess.start(try program("xenbus-peer"), ["backend"] + common + ["--max-ring-pages", "8", "--sectors", "4096"])
        children.append(backend)
        let frontend = try ChildProcess.start(try program("xenbus-peer"),  // domain 5 on its own socket
                                              ["frontend"] + common + ["--as-frontend-domain", "--ring-pages", "4", "--close-on", unplug.rawValue])
        children.append(frontend)
        try waitUntil("both ends Connected") {
            try toolstack.readIfPresent(device.frontendPath.appending("state")) == "4"
                && toolstack.readIfPresent(device.backendPath.appending("state")) == "4"
        }

        try checkListing(of: device, socket: socket)
        // Created by the frontend's session, so owned by domain 5: it really acted as the guest.
        XCTAssertEqual(try toolstack.permissions(of: device.frontendPath.appending("ring-ref0")).owner, DomainID(5))
        try toolstack.write(unplug, "1")
        let backendResult = try backend.finish(timeout: Self.timeout)
        let frontendResult = try frontend.finish(timeout: Self.timeout)
        XCTAssertEqual(backendResult.status, 0, backendResult.standardError)
        XCTAssertEqual(frontendResult.status, 0, frontendResult.standardError)
        let connected = "pages=4 entries=128 requests=128 segments=11 size=45056 queues=1 abi=x86_64 refs=100,101,102,103"
        XCTAssertEqual(backendResult.standardOutput, "backend connected \(connected)\nbackend closed cleanly\n")
        XCTAssertEqual(frontendResult.standardOutput, "frontend connected \(connected) sectors=4096\nfrontend closed cleanly\n")
        XCTAssertEqual(try toolstack.read(device.frontendPath.appending("state")), "6")
        XCTAssertEqual(try toolstack.read(device.backendPath.appending("state")), "6")
    }

    /// `xenstore-ls -f` of both directories shows the negotiated nodes.
    private func checkListing(of device: VirtualBlockDevice, socket: String) throws {
        var lines: [String] = []
        for path in [device.frontendPath, device.backendPath] {
            let listing = try ChildProcess.run(Self.xenstoreLs, ["-f", path.rawValue], environment: ["XENSTORED_PATH": socket], timeout: .seconds(10))
            XCTAssertEqual(listing.status, 0, listing.standardError)
            lines += listing.standardOutput.split(separator: "\n").map(String.init)
        }
        let front = device.frontendPath.rawValue, back = device.backendPath.rawValue
        let expected = [
            "\(front)/state = \"4\"", "\(front)/ring-page-order = \"2\"", "\(front)/ring-pages = \"4\"",
            "\(front)/ring-ref0 = \"100\"", "\(front)/ring-ref3 = \"103\"", "\(front)/event-channel = \"7\"",
            "\(front)/protocol = \"x86_64-abi\"", "\(front)/max-requests = \"128\"", "\(front)/backend = \"\(back)\"",
            "\(back)/state = \"4\"", "\(back)/max-ring-page-order = \"3\"", "\(back)/max-ring-pages = \"8\"",
            "\(back)/max-requests = \"256\"", "\(back)/sectors = \"4096\"", "\(back)/sector-size = \"512\"",
            "\(back)/info = \"0\"", "\(back)/frontend-id = \"5\"", "\(back)/params = \"/images/guest.img\"",
        ]
        for line in expected { XCTAssertTrue(lines.contains(line), "xenstore-ls lacks \(line):\n\(lines.joined(separator: "\n"))") }
        XCTAssertFalse(lines.contains { $0.hasPrefix("\(front)/ring-ref =") }, "both ring-ref forms published")
    }

    /// Polls `condition` until it holds; throws after the test's timeout.
    private func waitUntil(_ what: String, _ condition: () throws -> Bool) throws {
        let deadline = ContinuousClock.now + Self.timeout
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw CPeerError("\(what) did not happen within \(Self.timeout)") }
            usleep(10_000)
        }
    }

    /// Ends a child that is still running (the store, or any child of a failed test), then reaps it.
    private func stop(_ child: ChildProcess.Running) {
        guard child.isRunning else { return }
        kill(child.processIdentifier, SIGTERM)
        _ = try? child.finish(timeout: .seconds(5))
    }
}
