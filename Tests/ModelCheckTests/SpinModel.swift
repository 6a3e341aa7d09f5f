// Running Models/check.sh (SPIN) from a test.

import Foundation
import TestSupport

/// Runs SPIN on a model of `Models/` through `Models/check.sh`, in a fresh directory.
enum SpinModel {
    /// The repository's `Models` directory.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Models")

    /// SPIN's verdict on `model` with `defines`; the script's output. Throws unless SPIN proved it.
    static func prove(_ model: String, _ defines: String...) throws -> String {
        try run(["prove", model] + defines)
    }

    /// SPIN's counterexample for `model` with `defines`, and its trail. Throws unless SPIN found one.
    static func refute(_ model: String, _ defines: String...) throws -> String {
        try run(["refute", model] + defines)
    }

    private static func run(_ arguments: [String]) throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spin-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try ChildProcess.run(
            "/bin/sh", [directory.appendingPathComponent("check.sh").path] + arguments,
            environment: ["MODEL_BUILD": scratch.path], timeout: .seconds(120))
        let output = result.standardOutput + result.standardError
        guard result.status == 0 else {
            throw CPeerError("Models/check.sh \(arguments.joined(separator: " ")) failed (status \(result.status)); "
                + "spin is Debian's `spin` package (make model-deps installs it):\n\(output)")
        }
        return output
    }
}
