// blkif-xenstored: the embedded XenStore served on a Unix socket, for machines without Xen.

import ArgumentParser
import Foundation
import Glibc
import XenStore

/// The command line: where to listen and whether to stay in the foreground.
struct BlkifXenstored: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blkif-xenstored",
        abstract: "Serve an in-memory XenStore over the Xen wire protocol on a Unix socket."
    )

    @Option(help: "Socket to listen on (default: $XENSTORED_PATH, else /var/run/xenstored/socket).")
    var socket: String?

    @Flag(help: "Serve in this process until SIGTERM/SIGINT instead of detaching.")
    var foreground = false

    func run() throws {
        let path = socket ?? XenStoreClient.defaultSocketPath()
        if foreground {
            try serve(at: path)
        } else {
            try detach(servingAt: path)
        }
    }

    /// Serves until SIGTERM or SIGINT, then removes the socket.
    private func serve(at path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)  // before any thread starts, so all inherit it
        let server = try XenStoreServer(socketPath: path)
        server.start()
        FileHandle.standardOutput.write(Data((path + "\n").utf8))  // unbuffered, so a supervisor sees it at once
        var received: Int32 = 0
        sigwait(&signals, &received)
        server.stop()
    }

    /// Starts a foreground copy of this program in the background and returns once it listens.
    private func detach(servingAt path: String) throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        child.arguments = ["--socket", path, "--foreground"]
        child.standardOutput = FileHandle.nullDevice
        unlink(path)
        try child.run()
        let deadline = Date(timeIntervalSinceNow: 5)
        while access(path, F_OK) != 0 {
            guard child.isRunning, Date() < deadline else { throw ValidationError("server did not start on \(path)") }
            usleep(10_000)
        }
        print(path)
    }
}

BlkifXenstored.main()
