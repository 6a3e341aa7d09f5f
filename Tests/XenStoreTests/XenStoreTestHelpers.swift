import Foundation
import Glibc
import XCTest
@testable import XenStore

/// An embedded server on a socket in a fresh temporary directory, stopped and removed by `tearDown`.
final class ServerFixture {
    let directory: URL
    let server: XenStoreServer
    var socketPath: String { server.socketPath }

    init(store: InMemoryXenStore = InMemoryXenStore()) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("xs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        server = try XenStoreServer(socketPath: directory.appendingPathComponent("sock").path, store: store)
        server.start()
    }

    func client() throws -> XenStoreClient { try XenStoreClient(socketPath: socketPath, timeout: .seconds(5)) }

    /// A client acting as `domain`, which must have been introduced.
    func client(as domain: DomainID) throws -> XenStoreClient {
        try XenStoreClient(domain: domain, serverSocket: socketPath, timeout: .seconds(5))
    }

    func tearDown() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A required xenstore-utils binary is not installed; the test fails (it is never skipped).
struct MissingTool: Error {
    let path: String
}

/// The outcome of a finished tool run.
struct ToolResult {
    let status: Int32
    let output: String
    let error: String
}

/// A spawned xenstore-utils process talking to `socketPath` through `XENSTORED_PATH`.
final class ToolProcess {
    static let toolDirectory = "/usr/bin"
    let process = Process()
    private let output = Pipe()
    private let errors = Pipe()

    /// Starts `tool` with `arguments`; fails the test (never skips) if the tool is not installed.
    init(_ tool: String, _ arguments: [String], socketPath: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = "\(Self.toolDirectory)/\(tool)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) is missing: install Debian's xenstore-utils (`make test` does)", file: file, line: line)
            throw MissingTool(path: path)
        }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ["XENSTORED_PATH": socketPath, "PATH": "/usr/bin:/bin"]
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Waits for exit up to `timeout`; a process still running then is killed and the test fails.
    func finish(timeout: TimeInterval = 5, file: StaticString = #filePath, line: UInt = #line) -> ToolResult {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning, Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(process.executableURL!.lastPathComponent) did not finish within \(timeout)s", file: file, line: line)
        }
        process.waitUntilExit()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return ToolResult(status: process.terminationStatus, output: out, error: err)
    }

    /// Runs a tool to completion.
    static func run(_ tool: String, _ arguments: [String], socketPath: String,
                    file: StaticString = #filePath, line: UInt = #line) throws -> ToolResult {
        try ToolProcess(tool, arguments, socketPath: socketPath, file: file, line: line).finish(file: file, line: line)
    }
}

/// A raw socket to the server, for sending malformed bytes.
final class RawConnection {
    let fd: Int32
    private var framer = WireFramer()

    init(_ socketPath: String) throws { fd = try UnixSocket.connect(to: socketPath) }
    deinit { close(fd) }

    func send(_ bytes: [UInt8]) { XCTAssertTrue(UnixSocket.writeAll(fd, bytes)) }

    /// The next message, or nil if the server closed the connection or `timeout` passed.
    /// Bytes read beyond that message are kept for the next call.
    func receive(timeout: Int32 = 2000) -> WireMessage? {
        while true {
            if let message = try? framer.next() { return message }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeout) == 1, let bytes = UnixSocket.readSome(fd) else { return nil }
            framer.append(bytes)
        }
    }

    /// Whether the server has closed this connection (end of stream within `timeout`).
    func isClosedByServer(timeout: Int32 = 2000) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeout) == 1 else { return false }
        return UnixSocket.readSome(fd) == nil
    }
}

/// Builds a raw header with an arbitrary announced length.
func rawHeader(type: UInt32, requestID: UInt32 = 7, transactionID: UInt32 = 0, length: UInt32) -> [UInt8] {
    [type, requestID, transactionID, length].flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

/// Collects events from `queue` until `count` arrived or `timeout` passed.
func collect(_ count: Int, from queue: WatchEventQueue, timeout: Duration = .seconds(3)) -> [WatchEvent] {
    var events: [WatchEvent] = []
    let deadline = ContinuousClock.now + timeout
    while events.count < count, ContinuousClock.now < deadline {
        if let event = queue.next(timeout: .milliseconds(100)) { events.append(event) }
    }
    return events
}

extension RawConnection {
    /// Sends one request and returns the next message (its reply, unless an event comes first).
    func request(_ type: WireType, _ payload: [UInt8], requestID: UInt32 = 7, transactionID: UInt32 = 0) -> WireMessage? {
        send(WireMessage(type, requestID: requestID, transactionID: transactionID, payload: payload).encoded)
        return receive()
    }

    /// Sends one request of nul-terminated strings and returns the next message.
    func request(_ type: WireType, strings: [String], requestID: UInt32 = 7, transactionID: UInt32 = 0) -> WireMessage? {
        request(type, WireMessage.strings(strings), requestID: requestID, transactionID: transactionID)
    }
}

/// The `xsd_errors` name an `XS_ERROR` message carries, or nil for any other message.
func errorName(_ message: WireMessage?) -> String? {
    guard let message, message.type == WireType.error.rawValue else { return nil }
    return WireMessage.splitStrings(message.payload)?.first
}

/// The strings of a reply's payload.
func replyStrings(_ message: WireMessage?) -> [String]? {
    message.flatMap { WireMessage.splitStrings($0.payload) }
}

/// A directory of `count` children with names long enough that the list needs more than one
/// `XENSTORE_PAYLOAD_MAX` reply (300 children: 8,400 bytes, as in the report this fixes).
func makeBigDirectory(_ store: any XenStore, at path: XenStorePath, count: Int = 300) throws -> [String] {
    let names = (0..<count).map { "child-with-a-long-name-" + String(repeating: "0", count: 4 - String($0).count) + String($0) }
    try store.transaction { tx in
        for name in names { try tx.write(try path.appending(name), "") }
    }
    return names
}
