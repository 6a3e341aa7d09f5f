// xen-nested-blk: our block drivers against Linux's inside a real Xen dom0 (make xen-test).
//
//     xen-nested-blk attach <devid> <seed> <pattern-MiB> <random-ops> <seconds>
//         scenario 2: BlkFront in dom0 against dom0's Linux xen-blkback
//
// BlkFront runs on XenPlatform's Xen implementation (libxengnttab, libxenevtchn) and the real
// xenstored; the device is made by our XenBus device-creation function. Kept apart from
// xen-nested-probe so the platform and store checks never wait on the block drivers' build.
// Scenario 1's backend is `blkif serve --platform xen` itself.

import Glibc

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "attach": exit(try await AttachCommand.run(Array(arguments.dropFirst())))
    default:
        print("usage: xen-nested-blk attach <devid> <seed> <pattern-MiB> <random-ops> <seconds>")
        exit(2)
    }
} catch {
    line("xen-nested-blk \(arguments.first ?? ""): \(error)")
    exit(1)
}

/// Prints `text` and flushes at once (the scenario script reads the log as it grows).
func line(_ text: String) {
    print(text)
    fflush(nil)
}
