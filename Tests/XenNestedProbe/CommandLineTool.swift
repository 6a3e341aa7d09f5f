// Other processes: Xen's own command-line clients (xenstore-read, xenstore-write, ...) as a
// second, independent client of the same xenstored, and this probe again as a child. Spawned
// with posix_spawn directly: Foundation's Process needs a run-loop socket pair that the test
// dom0 refused ("Could not create wakeup socket pair for CFSocket") and then hung.

import Glibc

/// One finished run of a child process: how it ended and its standard output (and error).
struct ToolRun {
    /// The exit status, or -1 when it was killed by a signal or could not be started.
    let status: Int32
    /// The signal that ended it, or 0.
    let signal: Int32
    /// What it printed, with one trailing newline removed.
    let output: String

    /// Runs `tool` (looked up on `PATH`) with `arguments`; kills it after `timeout`.
    static func run(_ tool: String, _ arguments: [String], timeout: Duration = .seconds(20)) -> ToolRun {
        spawn(tool, arguments, timeout: timeout)
    }

    /// Runs this executable again with `arguments`.
    static func runSelf(_ arguments: [String], timeout: Duration = .seconds(30)) -> ToolRun {
        spawn(CommandLine.arguments[0], arguments, timeout: timeout)
    }

    private static func spawn(_ program: String, _ arguments: [String], timeout: Duration) -> ToolRun {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return ToolRun(status: -1, signal: 0, output: "pipe: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        posix_spawn_file_actions_addclose(&actions, ends[0])
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        close(ends[1])
        defer { close(ends[0]) }
        guard spawned == 0 else { return ToolRun(status: -1, signal: 0, output: "\(program): posix_spawn errno \(spawned)") }
        let output = readAll(ends[0], until: ContinuousClock.now + timeout)
        return finish(pid, output: output)
    }

    /// Reads `descriptor` until end of file or `deadline`.
    private static func readAll(_ descriptor: Int32, until deadline: ContinuousClock.Instant) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) >= 0 || errno == EINTR else { break }
            guard ready.revents != 0 else { continue }
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { break }
            output += chunk[0..<count]
        }
        return output
    }

    /// Reaps `pid`, killing it first if it is still running (it overran its deadline).
    private static func finish(_ pid: pid_t, output: [UInt8]) -> ToolRun {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == 0 {
            usleep(200_000)
            if waitpid(pid, &status, WNOHANG) == 0 {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
        }
        var text = String(decoding: output, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        let signal = status & 0x7f
        return ToolRun(status: signal == 0 ? (status >> 8) & 0xff : -1, signal: signal, output: text)
    }
}
