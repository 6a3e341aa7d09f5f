// The one way a fuzz property fails.

/// Stops the run when a property does not hold: libFuzzer reports the crash and saves the input
/// (as `make fuzz` runs it); a corpus replay test fails with `message`.
///
/// A trap, not an error: the code under test must never reach one, so a property failure is
/// reported the same way as a trap in it.
func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    guard condition else { fatalError("fuzz property violated: \(message())", file: file, line: line) }
}
