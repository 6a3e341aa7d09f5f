// The probe's verdicts: one line per check, a summary, an exit status.

import Glibc

/// Collects the probe's checks and prints each as it is decided, flushed at once so a crash
/// later still leaves the earlier lines in the log.
final class CheckReport {
    private var failures = 0
    private var total = 0

    /// Records `check` as passed when `condition` holds, otherwise failed with `detail`.
    func expect(_ condition: Bool, _ check: String, _ detail: @autoclosure () -> String = "") {
        total += 1
        if condition {
            line("PASS \(check)")
        } else {
            failures += 1
            line("FAIL \(check): \(detail())")
        }
    }

    /// Runs `body`; a thrown error fails `check`, naming the error.
    func attempt(_ check: String, _ body: () throws -> Void) {
        do { try body() } catch { expect(false, check, "\(error)") }
    }

    /// Prints an informational line (a figure, a value read) that is not a verdict.
    func note(_ text: String) { line("INFO \(text)") }

    /// Prints the summary of `group` and returns the exit status: 0 when every check passed.
    func finish(group: String) -> Int32 {
        line(failures == 0 ? "PROBE \(group) OK (\(total) checks)" : "PROBE \(group) FAILED \(failures) of \(total)")
        return failures == 0 ? 0 : 1
    }

    private func line(_ text: String) {
        print(text)
        fflush(nil)  // every stream: a crash later must not lose this line
    }
}
