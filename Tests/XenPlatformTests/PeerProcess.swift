// The other domain of a two-process test: the xenplatform-peer helper, driven line by line.

import Foundation
import XCTest
import XenPlatform
import XenStore

/// A running `xenplatform-peer` acting as one domain: commands go to its standard input, one
/// answer line comes back for each (see Tests/XenPlatformPeer/PeerSession.swift).
/// Spawned with posix_spawn (no Foundation `Process`), so a thousand of them stay cheap.
final class PeerProcess {
    /// The helper's process id.
    let pid: pid_t
    private let input: Int32
    private let output: Int32
    private var buffered: [UInt8] = []
    private var exitStatus: Int32?

    /// How long one answer may take (a ring run or a stress answers at its end).
    static let answerTimeout = Duration.seconds(60)

    /// The helper built beside this test bundle.
    static let executable: String = {
        let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return directory.appendingPathComponent("xenplatform-peer").path
    }()

    /// Starts the helper as `domain`, serving in `directory`, and waits for its "ok ready".
    init(domain: UInt16, directory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw PeerError("\(Self.executable) is missing: build it with `swift build --build-tests`")
        }
        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { throw PeerError("pipe: errno \(errno)") }
        for end in toChild + fromChild { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }  // other peers must not inherit them
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        let arguments = [Self.executable, directory, "\(domain)"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        // no crash report on standard error: one test makes its peer fault on purpose
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("SWIFT_BACKTRACE=enable=no"), nil]
        defer { free(environment[0]) }
        let spawned = posix_spawn(&child, Self.executable, &actions, nil, &argv, &environment)
        close(toChild[0])
        close(fromChild[1])
        guard spawned == 0 else {
            close(toChild[1])
            close(fromChild[0])
            throw PeerError("posix_spawn \(Self.executable): \(spawned)")
        }
        pid = child
        input = toChild[1]
        output = fromChild[0]
        let ready = try answerLine(timeout: .seconds(20))
        guard ready == "ok ready" else { throw PeerError("peer \(domain) did not start: \(ready)") }
    }

    /// Sends `command` and returns the text after "ok ".
    /// - Throws: ``PeerError`` carrying the peer's "error ..." text, or when it does not answer in time.
    @discardableResult
    func run(_ command: String, timeout: Duration = PeerProcess.answerTimeout) throws -> String {
        let line = Array((command + "\n").utf8)
        guard line.withUnsafeBytes({ write(input, $0.baseAddress, $0.count) }) == line.count else {
            throw PeerError("cannot send \(command): errno \(errno)")
        }
        let answer = try answerLine(timeout: timeout)
        guard answer.hasPrefix("ok ") else { throw PeerError("\(command) → \(answer)") }
        return String(answer.dropFirst(3))
    }

    /// The words of the answer to `command`.
    func words(_ command: String, timeout: Duration = PeerProcess.answerTimeout) throws -> [String] {
        try run(command, timeout: timeout).split(separator: " ").map(String.init)
    }

    /// Sends `command` and expects an error; returns its text.
    func failure(_ command: String) throws -> String {
        do {
            let answer = try run(command)
            throw PeerError("\(command) succeeded with \(answer), expected an error")
        } catch let error as PeerError where error.description.hasPrefix("\(command) → error ") {
            return String(error.description.dropFirst("\(command) → error ".count))
        }
    }

    /// Sends `command` without waiting for an answer (the peer is about to block or die).
    func send(_ command: String) {
        let line = Array((command + "\n").utf8)
        _ = line.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
    }

    /// Collects the answer to a command sent with ``send(_:)``: the text after "ok ".
    @discardableResult
    func collect(timeout: Duration = PeerProcess.answerTimeout) throws -> String {
        let answer = try answerLine(timeout: timeout)
        guard answer.hasPrefix("ok ") else { throw PeerError("peer \(pid) answered \(answer)") }
        return String(answer.dropFirst(3))
    }

    private func answerLine(timeout: Duration) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { throw PeerError("peer \(pid) gave no answer within \(timeout)") }
            var readable = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            _ = poll(&readable, 1, Int32(left.components.seconds * 1000 + 1))
            var chunk = [UInt8](repeating: 0, count: 4096)
            let got = read(output, &chunk, chunk.count)
            if got == 0 { throw PeerError("peer \(pid) exited (status \(try finish(timeout: .seconds(5))))") }
            if got > 0 { buffered += chunk.prefix(got) }
        }
    }

    /// Kills the peer with SIGKILL and reaps it.
    func kill() throws {
        Glibc.kill(pid, SIGKILL)
        _ = try finish(timeout: .seconds(10))
    }

    /// Waits for the peer to exit; returns its exit status, or minus the signal that ended it.
    @discardableResult
    func finish(timeout: Duration) throws -> Int32 {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) != pid {
            guard ContinuousClock.now < deadline else { throw PeerError("peer \(pid) did not exit within \(timeout)") }
            usleep(500)
        }
        close(input)
        close(output)
        let result = status & 0x7f == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
        exitStatus = result
        return result
    }

    deinit {
        if exitStatus == nil {
            Glibc.kill(pid, SIGKILL)
            _ = try? finish(timeout: .seconds(10))
        }
    }
}

/// A peer that failed, did not answer, or answered otherwise than expected.
struct PeerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh socket directory for one test's domains, removed with everything in it afterwards.
final class SocketDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/xenplatform-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PeerError("mkdtemp: errno \(errno)") }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A test case in which this process is domain 1 on a loopback platform and a peer process is
/// domain 0, both on a fresh socket directory; each test gets its own.
class TwoProcessTestCase: XCTestCase {
    /// The sockets' directory.
    var directory: SocketDirectory!
    /// This process's platform, as domain 1.
    var platform: LoopbackPlatform!
    /// The peer process, as domain 0.
    var peer: PeerProcess!

    override func setUpWithError() throws {
        directory = try SocketDirectory()
        platform = try LoopbackPlatform(domain: DomainID(1), directory: directory.path)
        peer = try PeerProcess(domain: 0, directory: directory.path)
    }

    override func tearDownWithError() throws {
        try peer?.kill()
        platform?.close()
        (peer, platform, directory) = (nil, nil, nil)  // XCTest keeps the case: release the descriptors now
    }
}
