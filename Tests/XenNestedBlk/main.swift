// xen-nested-blk: our block drivers against Linux's inside a real Xen dom0 (make xen-test).
//
//     xen-nested-blk serve <frontend-domid> <devid> <image> <max-ring-pages> <seconds>
//         scenario 1: BlkBack serves <image> to a domU's Linux xen-blkfront
//     xen-nested-blk attach <devid> <seed> <pattern-MiB> <random-ops> <seconds>
//         scenario 2: BlkFront in dom0 against dom0's Linux xen-blkback
//
// Both run on XenPlatform's Xen implementation (libxengnttab, libxenevtchn) and the real
// xenstored; the device is made by our XenBus device-creation function. Kept apart from
// xen-nested-probe so the platform and store checks never wait on the block drivers' build.

import Glibc

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "serve": exit(try ServeCommand.run(Array(arguments.dropFirst())))
    case "attach": exit(try await AttachCommand.run(Array(arguments.dropFirst())))
    default:
        print("usage: xen-nested-blk serve ... | attach ...")
        exit(2)
    }
} catch {
    line("xen-nested-blk \(arguments.first ?? ""): \(error)")
    exit(1)
}
