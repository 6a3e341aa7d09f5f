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

    @Option(name: .customLong("introduce"),
            help: "Introduce this domain at start: its clients connect on <socket>.d<domid>. Repeatable.")
    var introducedDomains: [UInt16] = []

    @Option(help: "Most watches per unprivileged domain; 0 for no limit (domain 0 is never limited).")
    var watchQuota = XenStoreQuotas.xenstoredDefaults.watchesPerDomain ?? 0

    @Option(help: "Most open transactions per unprivileged connection; 0 for no limit.")
    var transactionQuota = XenStoreQuotas.xenstoredDefaults.transactionsPerSession ?? 0

    func validate() throws {
        guard watchQuota >= 0, transactionQuota >= 0 else { throw ValidationError("quotas are 0 (no limit) or more") }
        guard !introducedDomains.contains(0) else { throw ValidationError("domain 0 is the main socket; it is not introduced") }
    }

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
        let quotas = XenStoreQuotas(watchesPerDomain: watchQuota == 0 ? nil : watchQuota,
                                    transactionsPerSession: transactionQuota == 0 ? nil : transactionQuota)
        let server = try XenStoreServer(socketPath: path, store: InMemoryXenStore(quotas: quotas))
        for domain in introducedDomains { try server.introduce(DomainID(domain)) }
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
        child.arguments = ["--socket", path, "--foreground", "--watch-quota", String(watchQuota),
                           "--transaction-quota", String(transactionQuota)] + introducedDomains.flatMap { ["--introduce", String($0)] }
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
