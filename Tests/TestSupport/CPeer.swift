// Building C peers from Xen's own headers at test time.

import Foundation

/// The machine ABI a C peer is compiled for: `cc -m64` or `cc -m32`.
public enum CPeerBits: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// `-m64`: the x86_64 ABI.
    case m64 = 64
    /// `-m32`: the x86_32 ABI.
    case m32 = 32

    /// The compiler flag.
    public var flag: String { "-m\(rawValue)" }
    public var description: String { flag }
}

/// Why a C peer could not be built or run.
public struct CPeerError: Error, CustomStringConvertible {
    /// What went wrong, with the command's output.
    public let description: String
    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}

/// Compiles C programs against the system's Xen public headers (Debian's libxen-dev) with
/// `cc -m64` or `cc -m32` (gcc-multilib), caching each binary per test run.
public enum CPeer {
    /// The header every blkif peer includes.
    public static let blkifHeader = "/usr/include/xen/io/blkif.h"

    /// Directory of the C sources of a test target, given that target's `#filePath`.
    public static func sourceDirectory(besides filePath: String) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("C")
    }

    /// Compiles `sources` into an executable for `bits`, with `-O2 -Wall -Werror`.
    /// - Throws: ``CPeerError`` naming the missing package when the Xen headers or the 32-bit
    ///   toolchain are absent (`make test` installs them), or carrying the compiler's output.
    public static func build(_ sources: [URL], bits: CPeerBits, name: String, flags: [String] = []) throws -> URL {
        guard FileManager.default.fileExists(atPath: blkifHeader) else {
            throw CPeerError("\(blkifHeader) is missing: install Debian's libxen-dev (`make test` does it)")
        }
        let output = buildDirectory.appendingPathComponent("\(name)-\(bits.rawValue)")
        // The directory is this test process's own: a binary already there was built by this run.
        if FileManager.default.isExecutableFile(atPath: output.path) { return output }
        let arguments = [bits.flag, "-O2", "-Wall", "-Werror", "-std=gnu11", "-o", output.path] + flags
            + sources.map(\.path) + ["-lpthread"]
        let result = try ChildProcess.run("/usr/bin/env", ["cc"] + arguments, timeout: .seconds(120))
        guard result.status == 0 else {
            let hint = bits == .m32 ? " (for -m32 install Debian's gcc-multilib; `make test` does it)" : ""
            throw CPeerError("cc \(arguments.joined(separator: " ")) failed\(hint):\n\(result.standardError)")
        }
        return output
    }

    /// A fresh directory for this test process's binaries and shared files.
    public static let buildDirectory: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("blkif-cpeers-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()
}
