// Scenario 3: our XenStore client against Xen's own xenstored, over its Unix socket. Values
// are compared byte for byte, and with what Xen's command-line clients see.

import Foundation
import XenStore

/// Reads, writes, lists, watches, transactions and permissions against the real xenstored,
/// under a scratch subtree that is removed at the end.
struct XenStoreScenario {
    let report: CheckReport
    /// The scratch subtree.
    let root = "/local/domain/0/blkif-xen-test"

    func run() {
        report.attempt("xenstore: connect to \(XenStoreClient.defaultSocketPath())") {
            let store = try XenStoreClient(timeout: .seconds(10))
            defer { store.close() }
            try? store.rm(try XenStorePath(root))
            try readsWhatXenWrote(store)
            try writesWhatXenReads(store)
            try listsDirectories(store)
            try watches(store)
            try transactions(store)
            try permissions(store)
            try store.rm(try XenStorePath(root))
            report.expect(ToolRun.run("xenstore-exists", [root]).status != 0, "xenstore: scratch subtree removed")
        }
    }

    private func path(_ suffix: String) throws(XenStoreError) -> XenStorePath { try XenStorePath("\(root)/\(suffix)") }

    private func readsWhatXenWrote(_ store: XenStoreClient) throws {
        let name = try store.read("/local/domain/0/name")
        report.expect(name == ToolRun.run("xenstore-read", ["/local/domain/0/name"]).output && !name.isEmpty,
                      "xenstore: read /local/domain/0/name as xenstore-read does", name)
        let written = ToolRun.run("xenstore-write", ["\(root)/from-xen", "written by xenstore-write"])
        report.expect(written.status == 0, "xenstore: xenstore-write ran", "status \(written.status)")
        let value = try store.read(try path("from-xen"))
        report.expect(value == "written by xenstore-write", "xenstore: read a value xenstore-write wrote", value)
        do {
            _ = try store.readBytes(try path("absent"))
            report.expect(false, "xenstore: reading an absent node is ENOENT", "it returned a value")
        } catch {
            report.expect(error.code == .ENOENT, "xenstore: reading an absent node is ENOENT", "\(error)")
        }
    }

    private func writesWhatXenReads(_ store: XenStoreClient) throws {
        try store.write(try path("text"), "blkif \u{e9}t\u{e9} 2026")
        let seen = ToolRun.run("xenstore-read", ["-R", "\(root)/text"]).output  // -R: raw, unescaped
        report.expect(seen == "blkif \u{e9}t\u{e9} 2026", "xenstore: xenstore-read -R reads our UTF-8 write", seen)
        let every = (0...255).map { UInt8($0) } + [0, 0, 255]
        try store.write(try path("bytes"), bytes: every)
        let back = try store.readBytes(try path("bytes"))
        report.expect(back == every, "xenstore: 259 bytes with NULs read back byte for byte", "got \(back.count) bytes")
        try store.write(try path("empty"), bytes: [])
        report.expect(try store.readBytes(try path("empty")).isEmpty, "xenstore: an empty value stays empty")
    }

    private func listsDirectories(_ store: XenStoreClient) throws {
        for child in ["b", "a", "c"] { try store.write(try path("dir/\(child)"), child) }
        let listed = try store.directory(try path("dir")).sorted()
        let xenListed = ToolRun.run("xenstore-list", ["\(root)/dir"]).output.split(separator: "\n").map(String.init).sorted()
        report.expect(listed == ["a", "b", "c"] && listed == xenListed, "xenstore: directory lists what xenstore-list lists",
                      "ours \(listed), xenstore-list \(xenListed)")
        // 400 names of 27 bytes: over one reply's 4096 bytes, so xenstored answers E2BIG and the
        // client must fetch the list in parts (XS_DIRECTORY_PART).
        let names = (0..<400).map { "child-with-a-long-name-\(String(format: "%04d", $0))" }
        let transaction = try store.startTransaction()
        for name in names { try store.write(try path("big/\(name)"), bytes: [], transaction: transaction) }
        try store.endTransaction(transaction, commit: true)
        let big = try store.directory(try path("big"))
        report.expect(big.sorted() == names, "xenstore: a 400-child directory (10.8 KB) is listed in parts",
                      "got \(big.count) names")
    }

    private func watches(_ store: XenStoreClient) throws {
        let token = WatchToken(bytes: Array("tok\u{1}\u{7f}en".utf8))
        let watched = try path("watched")
        try store.watch(watched, token: token)
        let first = store.events.next(timeout: .seconds(5))
        report.expect(first?.path == watched.rawValue && first?.token.bytes == token.bytes,
                      "xenstore: a new watch fires once at once, token echoed byte for byte", "\(String(describing: first))")
        _ = ToolRun.run("xenstore-write", ["\(root)/watched/child", "x"])
        let change = store.events.next(timeout: .seconds(5))
        report.expect(change?.path == "\(root)/watched/child" && change?.token == token,
                      "xenstore: another client's write below the watch fires it", "\(String(describing: change))")
        try store.unwatch(watched, token: token)
        _ = ToolRun.run("xenstore-write", ["\(root)/watched/child", "y"])
        let after = store.events.next(timeout: .milliseconds(500))
        report.expect(after == nil, "xenstore: no event after unwatch", "\(String(describing: after))")
    }

    private func transactions(_ store: XenStoreClient) throws {
        let node = try path("tx/value")
        let transaction = try store.startTransaction()
        try store.write(node, value: "inside", transaction: transaction)
        let outside = (try? store.read(node)) ?? "<absent>"
        let inside = try store.read(node, transaction: transaction)
        report.expect(outside == "<absent>" && inside == "inside", "xenstore: a transaction's write is seen only inside it",
                      "outside \(outside), inside \(inside)")
        try store.endTransaction(transaction, commit: true)
        report.expect(try store.read(node) == "inside", "xenstore: a committed transaction's write is seen")

        let aborted = try store.startTransaction()
        try store.write(try path("tx/aborted"), value: "no", transaction: aborted)
        try store.endTransaction(aborted, commit: false)
        report.expect((try? store.read(try path("tx/aborted"))) == nil, "xenstore: an aborted transaction applies nothing")

        let conflicting = try store.startTransaction()
        _ = try store.read(node, transaction: conflicting)
        _ = ToolRun.run("xenstore-write", ["\(root)/tx/value", "changed by xenstore-write"])
        try store.write(try path("tx/other"), value: "lost", transaction: conflicting)
        do {
            try store.endTransaction(conflicting, commit: true)
            report.expect(false, "xenstore: a conflicting commit is EAGAIN", "it committed")
        } catch {
            report.expect(error.code == .EAGAIN && (try? store.read(try path("tx/other"))) == nil,
                          "xenstore: a conflicting commit is EAGAIN and applies nothing", "\(error)")
        }
    }

    private func permissions(_ store: XenStoreClient) throws {
        let node = try path("perms/node")
        try store.write(node, "guarded")
        let wanted = Permissions(owner: .dom0, others: .none, grants: [.init(DomainID(5), .read), .init(DomainID(7), .both)])
        try store.setPermissions(wanted, of: node)
        let back = try store.permissions(of: node)
        report.expect(back == wanted, "xenstore: permissions read back as set", "\(back)")
        let listing = ToolRun.run("xenstore-ls", ["-p", "\(root)/perms"]).output
        report.expect(listing.contains("(n0,r5,b7)"), "xenstore: xenstore-ls -p shows the same permissions",
                      listing)
        do {
            try store.setPermissions(wanted, of: try path("absent"))
            report.expect(false, "xenstore: permissions of an absent node are ENOENT", "accepted")
        } catch {
            report.expect(error.code == .ENOENT, "xenstore: permissions of an absent node are ENOENT", "\(error)")
        }
    }
}
