// blkif: serve a disk image as a Xen virtual block device, attach to it, benchmark and verify it.

import ArgumentParser

/// The root command; each subcommand is one role (see docs/blkfront.md "Running the two ends").
struct Blkif: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blkif",
        abstract: "The Xen block-device protocol between processes: serve a disk image, attach to it, benchmark it.",
        subcommands: [Demo.self, Serve.self, Attach.self, Devices.self, Detach.self])
}

// What `AsyncParsableCommand.main()` does, spelled out: top-level code picks the synchronous
// `main()` and `run()` overloads otherwise, which print the help of an asynchronous subcommand.
do {
    var command = try Blkif.parseAsRoot()
    if var asynchronous = command as? AsyncParsableCommand {
        try await runAsynchronously(&asynchronous)
    } else {
        try command.run()
    }
} catch {
    Blkif.exit(withError: error)
}

/// Runs `command`'s asynchronous `run()` (a generic context picks the asynchronous overload).
func runAsynchronously<Command: AsyncParsableCommand>(_ command: inout Command) async throws {
    try await command.run()
}
