// Whether a started child is still running, for loops that must not outwait a dead peer.

extension ChildProcess.Running {
    /// Whether the child has not exited yet.
    public var isRunning: Bool { process.isRunning }
}
