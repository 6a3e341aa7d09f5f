// Finding, building and loading the C reference (reference/ringref.c) for one ABI layout.

import BlkifABI
import CRingBenchSupport
import Foundation

/// The C reference compiled for one layout and loaded with `dlopen`.
struct ReferenceLibrary: @unchecked Sendable {
    /// The layouts the reference is compiled for: `native` (blkif.h's own types) or `x86_32`.
    enum Layout: String, Sendable {
        case native, x86_32
        /// The layout the C reference needs for `abi` on this (64-bit) host.
        init(_ abi: ABI) { self = abi.resolved == .x86_32 ? .x86_32 : .native }
        /// Extra compiler flags.
        var flags: [String] { self == .x86_32 ? ["-DRINGREF_X86_32"] : [] }
        /// File name of the shared library.
        var fileName: String { "ringref-\(rawValue).so" }
    }

    /// The header whose absence means no reference.
    static let xenHeader = "/usr/include/xen/io/blkif.h"
    /// What to run when it is missing.
    static let installHint = "sudo apt-get install libxen-dev   (or: make deps)"

    /// `ringref_run`.
    let run: ringref_run_fn
    /// Where it was loaded from.
    let path: String

    /// Finds a prebuilt library no older than the source (next to the executable, in
    /// `.build/ringref/`, or in the cache directory) or compiles one into the cache, and loads it.
    /// - Throws: ``ReferenceUnavailable`` with the reason and what to do.
    static func load(_ layout: Layout, log: (String) -> Void) throws -> ReferenceLibrary {
        guard FileManager.default.fileExists(atPath: xenHeader) else {
            throw ReferenceUnavailable("\(xenHeader) not found: the C reference needs Xen's headers; install them with `\(installHint)`")
        }
        let path = try prebuilt(layout) ?? compile(layout, log: log)
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw ReferenceUnavailable("dlopen \(path): \(String(cString: dlerror()))")
        }
        guard let symbol = dlsym(handle, "ringref_run") else {
            throw ReferenceUnavailable("\(path) has no ringref_run")
        }
        return ReferenceLibrary(run: unsafeBitCast(symbol, to: ringref_run_fn.self), path: path)
    }

    /// The reference's source directory, as the package laid it out when ringbench was built.
    static var sourceDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("reference")
    }

    /// The include directory of the calling-convention header.
    static var includeDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/CRingBenchSupport/include")
    }

    /// A prebuilt library no older than the source, if there is one.
    private static func prebuilt(_ layout: Layout) -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            executable.appendingPathComponent(layout.fileName),
            URL(fileURLWithPath: ".build/ringref").appendingPathComponent(layout.fileName),
            cacheDirectory().appendingPathComponent(layout.fileName),
        ]
        let sources = ["ringref.c", "ringref_layout.h"].map { sourceDirectory.appendingPathComponent($0) }
            + [includeDirectory.appendingPathComponent("ringref_abi.h")]
        let sourceDate = sources.compactMap(modificationDate).max()
        return candidates.first { candidate in
            guard let date = modificationDate(candidate) else { return false }
            return sourceDate.map { date >= $0 } ?? true
        }?.path
    }

    private static func modificationDate(_ url: URL) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
    }

    /// Compiles the reference into the cache directory (`$XDG_CACHE_HOME/ringbench` or
    /// `~/.cache/ringbench`), telling the user the command.
    private static func compile(_ layout: Layout, log: (String) -> Void) throws -> String {
        let source = sourceDirectory.appendingPathComponent("ringref.c")
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw ReferenceUnavailable("no prebuilt \(layout.fileName) and no source at \(source.path); run `make ringref`")
        }
        let cache = cacheDirectory()
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let output = cache.appendingPathComponent(layout.fileName)
        let arguments = ["cc", "-O2", "-shared", "-fPIC"] + layout.flags
            + ["-I", includeDirectory.path, source.path, "-o", output.path, "-lpthread"]
        log("building the C reference: \(arguments.joined(separator: " "))")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ReferenceUnavailable("compiling the C reference failed (\(arguments.joined(separator: " ")))")
        }
        return output.path
    }

    private static func cacheDirectory() -> URL {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("ringbench")
    }
}

/// Why the C reference cannot run; ours still does.
struct ReferenceUnavailable: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
