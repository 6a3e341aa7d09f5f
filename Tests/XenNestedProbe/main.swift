// xen-nested-probe: checks, inside a real Xen dom0, that our XenStore client and XenPlatform's
// Xen implementation behave against Xen's own xenstored, grant drivers and event channels.
//
//     xen-nested-probe xenstore | grants | events | all
//     xen-nested-probe write-read-only <gref>     (child of `grants`: must die of SIGSEGV)
//     xen-nested-probe create-vbd <frontend-domid> <devid> <params> <type> [<major:minor>]
//     xen-nested-probe detach-vbd <frontend-domid> <devid> <seconds>
//
// Prints one "PASS <check>" or "FAIL <check>: <why>" line per check, then "PROBE <group> OK"
// or "PROBE <group> FAILED n of m", and exits non-zero when a check failed. create-vbd and
// detach-vbd are the toolstack's half of a vbd (ToolstackCommands). Every wait is
// bounded. Run by Tests/XenNested/dom0/run-scenarios.sh (see docs/xen-test.md).

import Glibc

let arguments = Array(CommandLine.arguments.dropFirst())
let report = CheckReport()

switch arguments.first {
case "xenstore": XenStoreScenario(report: report).run()
case "grants": GrantScenario(report: report).run()
case "events": await EventChannelScenario(report: report).run()
case "all":
    XenStoreScenario(report: report).run()
    GrantScenario(report: report).run()
    await EventChannelScenario(report: report).run()
case "write-read-only":
    exit(GrantScenario.writeThroughReadOnlyMapping(arguments.dropFirst().first.flatMap { UInt32($0) }))
case "create-vbd", "detach-vbd":
    do {
        let words = Array(arguments.dropFirst())
        exit(arguments[0] == "create-vbd" ? try ToolstackCommands.createVirtualBlockDevice(words)
                                           : try ToolstackCommands.detachVirtualBlockDevice(words))
    } catch {
        print("\(arguments[0]) failed: \(error)")
        exit(1)
    }
default:
    print("usage: xen-nested-probe xenstore | grants | events | all | create-vbd ... | detach-vbd ...")
    exit(2)
}
exit(report.finish(group: arguments[0]))
