// Counters a device keeps while serving, read by the serve command's summary and the tests.

import Synchronization

/// What one device's rings have done, counted as they go (relaxed atomics: a summary, not a
/// synchronisation point).
public final class ServingStatistics: Sendable {
    /// Requests answered, whatever the status.
    public let answered = Atomic<Int>(0)
    /// Requests refused after decoding: malformed, unsupported, a write to a read-only disk,
    /// indirect segments that failed their checks.
    public let refused = Atomic<Int>(0)
    /// Requests failed because a grant could not be mapped.
    public let grantFailures = Atomic<Int>(0)
    /// Requests failed by the storage.
    public let storageFailures = Atomic<Int>(0)
    /// Grant mappings made for requests' pages: persistent grants mapped the first time, indirect
    /// pages, and every mapping without persistent grants (each one a map and later an unmap).
    public let grantMappings = Atomic<Int>(0)
    /// Segments copied to or from granted pages (the copying data path; indirect pages included).
    public let grantCopies = Atomic<Int>(0)
    /// Persistent grants unmapped to make room for another (the cache was full).
    public let grantEvictions = Atomic<Int>(0)
    /// Wake-ups that found no request and were slowed down (an event flood).
    public let throttledWakes = Atomic<Int>(0)
    /// Store calls of the control thread that got no reply in time (the device kept serving).
    public let storeTimeouts = Atomic<Int>(0)
    /// What the first refused request was and why (later ones are only counted).
    public var firstRefusal: String? { firstRefusalText.withLock { $0 } }
    private let firstRefusalText = Mutex<String?>(nil)

    /// Zeroed counters.
    public init() {}

    /// Counts a refused request; the first one's `description` is kept for the summary.
    func refuse(_ description: @autoclosure () -> String) {
        guard refused.add(1, ordering: .relaxed).oldValue == 0 else { return }
        let text = description()
        firstRefusalText.withLock { $0 = text }
    }

    /// One line for logs: every counter by name.
    public var summary: String {
        "answered=\(answered.load(ordering: .relaxed)) refused=\(refused.load(ordering: .relaxed)) "
            + "grant-failures=\(grantFailures.load(ordering: .relaxed)) storage-failures=\(storageFailures.load(ordering: .relaxed)) "
            + "grant-mappings=\(grantMappings.load(ordering: .relaxed)) grant-evictions=\(grantEvictions.load(ordering: .relaxed)) "
            + "grant-copies=\(grantCopies.load(ordering: .relaxed)) "
            + "throttled-wakes=\(throttledWakes.load(ordering: .relaxed)) store-timeouts=\(storeTimeouts.load(ordering: .relaxed))"
            + (firstRefusal.map { " first-refusal=\"\($0)\"" } ?? "")
    }
}
