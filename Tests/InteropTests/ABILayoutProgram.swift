// Running the C layout program (C/abi_layout.c), built once per ABI per test run.

import BlkifABI
import Foundation
import TestSupport

/// `abi_layout.c` compiled against Xen's `<xen/io/blkif.h>` with `cc -m64` (x86_64) or
/// `cc -m32` (x86_32), and the three things it does: print the layout, write samples, read samples.
///
/// Each binary and its layout listing are built at most once per test process (static lets are
/// initialised once, thread-safely); a failure to build is kept and rethrown to every caller
/// with ``CPeerError``'s message (missing headers, missing 32-bit toolchain, compiler output).
enum ABILayoutProgram {
    /// The C source.
    static let source = CPeer.sourceDirectory(besides: #filePath).appendingPathComponent("abi_layout.c")

    private static let binary64 = Result { try CPeer.build([source], bits: .m64, name: "abi_layout") }
    private static let binary32 = Result { try CPeer.build([source], bits: .m32, name: "abi_layout") }
    private static let layout64 = Result { try parseLayout(run(["layout"], abi: .x86_64)) }
    private static let layout32 = Result { try parseLayout(run(["layout"], abi: .x86_32)) }

    /// The compiler flag whose C ABI is `abi` (native resolves to the host's).
    static func bits(for abi: ABI) -> CPeerBits {
        abi.resolved == .x86_32 ? .m32 : .m64
    }

    /// The program's `layout` listing: `name -> [offset, size]` for every field and structure,
    /// `ring_entries.N -> [count]` for rings of N pages.
    static func layout(of abi: ABI) throws -> [String: [Int]] {
        try (bits(for: abi) == .m32 ? layout32 : layout64).get()
    }

    /// The sample file the program writes for `seed`: four ring entries and one indirect page.
    static func writeSample(seed: UInt64, abi: ABI) throws -> Data {
        let file = CPeer.buildDirectory.appendingPathComponent("c-sample-\(abi)-\(seed)")
        defer { try? FileManager.default.removeItem(at: file) }
        _ = try run(["write", file.path, String(seed)], abi: abi)
        return try Data(contentsOf: file)
    }

    /// The fields the program reads from `bytes`, a sample file written by our views:
    /// `name -> value` as ``ABISample/fields`` names them.
    static func readSample(_ bytes: Data, abi: ABI) throws -> [String: String] {
        let file = CPeer.buildDirectory.appendingPathComponent("swift-sample-\(abi)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try bytes.write(to: file)
        return try parseFields(run(["read", file.path], abi: abi))
    }

    /// Runs the program for `abi` with `arguments` and returns what it printed.
    /// - Throws: ``CPeerError`` if it cannot be built or exits with a non-zero status.
    static func run(_ arguments: [String], abi: ABI) throws -> String {
        let binary = try (bits(for: abi) == .m32 ? binary32 : binary64).get()
        let result = try ChildProcess.run(binary.path, arguments, timeout: .seconds(30))
        guard result.status == 0 else {
            throw CPeerError("\(binary.lastPathComponent) \(arguments.joined(separator: " ")) exited \(result.status):\n\(result.standardError)")
        }
        return result.standardOutput
    }

    /// Parses `name number...` lines.
    static func parseLayout(_ text: String) throws -> [String: [Int]] {
        var table: [String: [Int]] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            let numbers = words.dropFirst().compactMap { Int($0) }
            guard let name = words.first, numbers.count == words.count - 1, !numbers.isEmpty else {
                throw CPeerError("unparsable layout line \"\(line)\"")
            }
            table[String(name)] = numbers
        }
        return table
    }

    /// Parses `name value` lines.
    static func parseFields(_ text: String) throws -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 2 else { throw CPeerError("unparsable field line \"\(line)\"") }
            fields[String(words[0])] = String(words[1])
        }
        return fields
    }
}
