// Starting pinned threads whose bodies are plain Swift functions.

import CRingBenchSupport
import Glibc

/// Holds a thread's body while the thread starts.
private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// A started thread; ``join()`` waits for it.
struct StartedThread {
    private let thread: pthread_t

    /// Starts `body` on a new thread, pinned to `cpu` before `body` runs.
    init(cpu: Int, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(ThreadBody {
            _ = ringbench_pin_current_thread(Int32(cpu))
            body()
        }).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        precondition(status == 0, "pthread_create failed: \(status)")
        self.thread = thread
    }

    /// Waits for the thread to finish.
    func join() { pthread_join(thread, nil) }
}
