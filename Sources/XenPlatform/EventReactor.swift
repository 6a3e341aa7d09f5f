// One thread that watches every port awaited from Swift concurrency.

import CXenPlatform
import Glibc
import Synchronization

/// Watches descriptors for tasks awaiting event-channel ports, so no thread is held per waiting
/// port: one epoll thread per process, started on first use, resumes each waiter when its
/// descriptor is readable, its hang-up descriptor hangs up, or its deadline passes.
final class EventReactor: Sendable {
    /// What a wait ended with.
    enum Readiness: Sendable {
        case readable, hungUp, timedOut
        /// The descriptor already has a waiter.
        case busy
        /// epoll failed with this errno.
        case failed(Int32)
    }

    private struct Waiter {
        let continuation: CheckedContinuation<Readiness, Never>
        let deadline: ContinuousClock.Instant
        let descriptors: [Int32]
    }

    /// The process's reactor.
    static let shared = EventReactor()

    private let epoll: Int32
    private let wake: Int32
    private let waiters = Mutex<[UInt64: Waiter]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private static let wakeToken = UInt64.max

    private init() {
        epoll = cxp_epoll_create()
        wake = cxp_eventfd()
        precondition(epoll >= 0 && wake >= 0, "cannot create the event reactor's epoll or eventfd")
        _ = cxp_epoll_watch(epoll, wake, Self.wakeToken, 0)
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<EventReactor>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }

    /// Suspends until `descriptor` is readable, `hangUp` (if >= 0) hangs up, or `timeout` passes.
    ///
    /// The descriptors are watched and the waiter recorded under one lock, which ``finish(_:with:)``
    /// also takes: an event that arrives while the second descriptor is being added waits for the
    /// registration to complete, so no watch outlives its waiter (a stale one would make the next
    /// wait on the port `.busy`).
    func readiness(of descriptor: Int32, hangUp: Int32, timeout: Duration) async -> Readiness {
        await withCheckedContinuation { continuation in
            let token = nextToken.add(1, ordering: .relaxed).oldValue
            let watched = hangUp >= 0 ? [descriptor, hangUp] : [descriptor]
            let refused = waiters.withLock { waiters -> Readiness? in
                for (index, watchedDescriptor) in watched.enumerated() {
                    let result = cxp_epoll_watch(epoll, watchedDescriptor, token << 1 | UInt64(index), 1)
                    guard result == 0 else {
                        for earlier in watched.prefix(index) { _ = cxp_epoll_forget(epoll, earlier) }
                        return result == -EEXIST ? .busy : .failed(-result)
                    }
                }
                waiters[token] = Waiter(continuation: continuation, deadline: .now + timeout, descriptors: watched)
                return nil
            }
            if let refused {
                continuation.resume(returning: refused)
                return
            }
            _ = cxp_eventfd_signal(wake)  // the reactor recomputes its timeout
        }
    }

    /// Removes waiter `token` (if still there), stops watching its descriptors, and resumes it.
    private func finish(_ token: UInt64, with readiness: Readiness) {
        let waiter = waiters.withLock { waiters -> Waiter? in
            guard let waiter = waiters.removeValue(forKey: token) else { return nil }
            for descriptor in waiter.descriptors { _ = cxp_epoll_forget(epoll, descriptor) }
            return waiter
        }
        waiter?.continuation.resume(returning: readiness)
    }

    /// The reactor thread: wait for the nearest deadline or an event, resume whoever is done.
    private func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        while true {
            let nearest = waiters.withLock { $0.values.map(\.deadline).min() }
            let timeout = nearest.map { SystemCall.milliseconds(ContinuousClock.now.duration(to: $0)) } ?? -1
            let count = cxp_epoll_wait(epoll, &tokens, Int32(tokens.count), timeout)
            for token in tokens.prefix(Int(max(count, 0))) {
                if token == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = cxp_eventfd_drain(wake, &value)
                } else {
                    finish(token >> 1, with: token & 1 == 0 ? .readable : .hungUp)
                }
            }
            let now = ContinuousClock.now
            let expired = waiters.withLock { $0.filter { $0.value.deadline <= now }.map(\.key) }
            for token in expired { finish(token, with: .timedOut) }
        }
    }
}
