// Event channels over Xen's libxenevtchn: one library handle (one descriptor) per port.

import Glibc
import Synchronization
import XenStore

/// The event channels of a real Xen domain, over `libxenevtchn` (`/dev/xen/evtchn`).
///
/// Each port gets a handle of its own, so a port's descriptor becomes readable for that port
/// only: waiting, and awaiting from Swift concurrency, need no demultiplexing.
public final class XenEventChannels: EventChannelTable {
    private let libraries: XenLibraries

    /// Checks that Xen's event channels can be used here.
    /// - Throws: ``PlatformError/xenUnavailable(_:)`` naming the absent device or library.
    public convenience init() throws(PlatformError) {
        self.init(libraries: try XenLibraries.load(requiring: XenLibraries.eventChannelDevices))
    }

    /// Event channels through `libraries` (already loaded; the device is not checked first).
    init(libraries: XenLibraries) {
        self.libraries = libraries
    }

    public func allocateUnboundPort(for remote: DomainID) throws(PlatformError) -> XenEventPort {
        let handle = try openHandle()
        let port = libraries.evtchnBindUnbound(handle, UInt32(remote.rawValue))
        return try XenEventPort(libraries: libraries, handle: handle, port: port, remote: remote, call: "xenevtchn_bind_unbound_port")
    }

    public func bind(to remote: DomainID, port: EventPort) throws(PlatformError) -> XenEventPort {
        let handle = try openHandle()
        let local = libraries.evtchnBindInterdomain(handle, UInt32(remote.rawValue), port.rawValue)
        if local < 0 && (errno == EINVAL || errno == ESRCH) {
            _ = libraries.evtchnClose(handle)
            throw .portNotOffered(port, by: remote)
        }
        return try XenEventPort(libraries: libraries, handle: handle, port: local, remote: remote, call: "xenevtchn_bind_interdomain")
    }

    private func openHandle() throws(PlatformError) -> OpaquePointer {
        guard let handle = libraries.evtchnOpen(nil, 0) else {
            throw .xenUnavailable("xenevtchn_open cannot open /dev/xen/evtchn: errno \(errno)")
        }
        return handle
    }
}

/// One port of a real Xen event channel, with its own `libxenevtchn` handle.
public final class XenEventPort: EventChannelPort, @unchecked Sendable {  // safe: the handle is only closed once, by close()
    public let port: EventPort
    /// The domain at the other end.
    public let remote: DomainID
    private let libraries: XenLibraries
    private let handle: OpaquePointer
    private let descriptor: Int32
    private let closed = Atomic<Bool>(false)

    /// Takes `handle` (closed on failure) and the port number `result` returned by `call`.
    init(libraries: XenLibraries, handle: OpaquePointer, port result: Int32, remote: DomainID, call: String) throws(PlatformError) {
        guard result > 0 else {
            let error = errno
            _ = libraries.evtchnClose(handle)
            throw .systemCall(call, errno: error)
        }
        self.libraries = libraries
        self.handle = handle
        self.port = EventPort(UInt32(result))
        self.remote = remote
        descriptor = libraries.evtchnDescriptor(handle)
    }

    public func signal() throws(PlatformError) {
        guard !closed.load(ordering: .acquiring) else { throw .noSuchPort(port) }
        guard libraries.evtchnNotify(handle, port.rawValue) == 0 else { throw .systemCall("xenevtchn_notify(\(port))", errno: errno) }
    }

    public func waitForEvent(timeout: Duration) throws(PlatformError) -> Bool {
        guard !closed.load(ordering: .acquiring) else { throw .noSuchPort(port) }
        var readable = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&readable, 1, SystemCall.milliseconds(timeout))
        guard ready >= 0 || errno == EINTR else { throw .systemCall("poll on \(port)", errno: errno) }
        return ready > 0 ? try takeEvent() : false
    }

    public func nextEvent(timeout: Duration) async throws(PlatformError) -> Bool {
        guard !closed.load(ordering: .acquiring) else { throw .noSuchPort(port) }
        switch await EventReactor.shared.readiness(of: descriptor, hangUp: -1, timeout: timeout) {
        case .readable: return try takeEvent()
        case .hungUp: throw .peerClosed(port)
        case .timedOut: return false
        case .busy: throw .alreadyWaiting(port)
        case .failed(let error): throw .systemCall("epoll on \(port)", errno: error)
        }
    }

    /// Takes the pending port from the handle and unmasks it, as every `libxenevtchn` user must.
    private func takeEvent() throws(PlatformError) -> Bool {
        let pending = libraries.evtchnPending(handle)
        guard pending >= 0 else {
            guard errno == EAGAIN else { throw .systemCall("xenevtchn_pending", errno: errno) }
            return false
        }
        _ = libraries.evtchnUnmask(handle, UInt32(pending))
        return true
    }

    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = libraries.evtchnUnbind(handle, port.rawValue)
        _ = libraries.evtchnClose(handle)
    }

    deinit { close() }
}
