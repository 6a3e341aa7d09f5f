// xenplatform-peer: the other domain of XenPlatform's two-process tests.
//
//     xenplatform-peer <socket-directory> <domain-id>
//
// Starts a LoopbackPlatform as that domain, then reads commands on standard input, one a line,
// and answers each with one line on standard output: "ok ..." or "error <description>". The
// commands are listed in PeerSession.run(_:). Grant references and port numbers are the only
// values the test passes to it, as XenStore would.

import Glibc
import XenPlatform
import XenStore

/// Writes one answer line to standard output at once (a pipe would otherwise buffer it).
func answer(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let domainNumber = UInt16(arguments[2]) else {
    answer("error usage: xenplatform-peer <socket-directory> <domain-id>")
    exit(2)
}
do {
    let session = PeerSession(platform: try LoopbackPlatform(domain: DomainID(domainNumber), directory: arguments[1]))
    answer("ok ready")
    while let line = readLine() {
        let words = line.split(separator: " ").map(String.init)
        guard let command = words.first else { continue }
        if command == "exit" { break }
        do {
            answer("ok \(try session.run(command, Array(words.dropFirst())))")
        } catch {
            answer("error \(error)")
        }
    }
    session.platform.close()
} catch {
    answer("error \(error)")
    exit(1)
}
