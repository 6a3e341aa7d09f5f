// Xen's grant and event-channel libraries, loaded at run time so the package builds and runs
// without them.

import CXenPlatform
import Glibc

/// The functions of `libxengnttab.so.1` (both halves) and `libxenevtchn.so.1` that the Xen
/// implementation calls, resolved with `dlopen`/`dlsym`. Loading fails with
/// ``PlatformError/xenUnavailable(_:)`` naming the device or library that is missing.
struct XenLibraries: @unchecked Sendable {  // safe: C function pointers into libraries never unloaded
    typealias Open = @convention(c) (OpaquePointer?, UInt32) -> OpaquePointer?
    typealias Close = @convention(c) (OpaquePointer?) -> Int32
    typealias MapDomainRefs = @convention(c) (OpaquePointer?, UInt32, UInt32, UnsafeMutablePointer<UInt32>?, Int32) -> UnsafeMutableRawPointer?
    typealias Unmap = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UInt32) -> Int32
    typealias GrantCopyCall = @convention(c) (OpaquePointer?, UInt32, UnsafeMutablePointer<cxp_grant_copy_segment>?) -> Int32
    typealias SharePages = @convention(c) (OpaquePointer?, UInt32, Int32, UnsafeMutablePointer<UInt32>?, Int32) -> UnsafeMutableRawPointer?
    typealias Descriptor = @convention(c) (OpaquePointer?) -> Int32
    typealias PortCall = @convention(c) (OpaquePointer?, UInt32) -> Int32
    typealias BindInterdomain = @convention(c) (OpaquePointer?, UInt32, UInt32) -> Int32

    // libxengnttab, mapping half (`xengnttab_*`)
    let gnttabOpen: Open
    let gnttabClose: Close
    let gnttabMapDomainGrantRefs: MapDomainRefs
    let gnttabUnmap: Unmap
    /// `xengnttab_grant_copy` (Xen 4.8 and later); nil in an older library.
    let gnttabGrantCopy: GrantCopyCall?
    // libxengnttab, sharing half (`xengntshr_*`)
    let gntshrOpen: Open
    let gntshrClose: Close
    let gntshrSharePages: SharePages
    let gntshrUnshare: Unmap
    // libxenevtchn (`xenevtchn_*`)
    let evtchnOpen: Open
    let evtchnClose: Close
    let evtchnDescriptor: Descriptor
    let evtchnNotify: PortCall
    let evtchnBindUnbound: PortCall
    let evtchnBindInterdomain: BindInterdomain
    let evtchnUnbind: PortCall
    let evtchnPending: Descriptor
    let evtchnUnmask: PortCall

    /// The device nodes of Xen's grant drivers: mapping (`gntdev`) and sharing (`gntalloc`).
    static let grantDevices = ["/dev/xen/gntdev", "/dev/xen/gntalloc"]
    /// The device node of Xen's event-channel driver.
    static let eventChannelDevices = ["/dev/xen/evtchn"]
    /// The shared objects, by soname (Debian's libxengnttab1 and libxenevtchn1).
    static let gnttabLibrary = "libxengnttab.so.1", evtchnLibrary = "libxenevtchn.so.1"

    /// The libraries, loaded once per process; the error says what is missing.
    static let loaded: Result<XenLibraries, PlatformError> = Result { () throws(PlatformError) in try XenLibraries() }

    /// Checks that `devices` exist, then loads both libraries and resolves every function.
    static func load(requiring devices: [String]) throws(PlatformError) -> XenLibraries {
        for device in devices where access(device, F_OK) != 0 {
            throw .xenUnavailable("\(device) is absent: this is not a Xen domain with its grant and event-channel drivers loaded")
        }
        return try loaded.get()
    }

    /// Resolves every function (without looking at the devices: used by ``load(requiring:)`` and tests).
    init() throws(PlatformError) {
        let gnttab = try Self.open(Self.gnttabLibrary), evtchn = try Self.open(Self.evtchnLibrary)
        gnttabOpen = try Self.symbol(gnttab, "xengnttab_open")
        gnttabClose = try Self.symbol(gnttab, "xengnttab_close")
        gnttabMapDomainGrantRefs = try Self.symbol(gnttab, "xengnttab_map_domain_grant_refs")
        gnttabUnmap = try Self.symbol(gnttab, "xengnttab_unmap")
        gnttabGrantCopy = try? Self.symbol(gnttab, "xengnttab_grant_copy")
        gntshrOpen = try Self.symbol(gnttab, "xengntshr_open")
        gntshrClose = try Self.symbol(gnttab, "xengntshr_close")
        gntshrSharePages = try Self.symbol(gnttab, "xengntshr_share_pages")
        gntshrUnshare = try Self.symbol(gnttab, "xengntshr_unshare")
        evtchnOpen = try Self.symbol(evtchn, "xenevtchn_open")
        evtchnClose = try Self.symbol(evtchn, "xenevtchn_close")
        evtchnDescriptor = try Self.symbol(evtchn, "xenevtchn_fd")
        evtchnNotify = try Self.symbol(evtchn, "xenevtchn_notify")
        evtchnBindUnbound = try Self.symbol(evtchn, "xenevtchn_bind_unbound_port")
        evtchnBindInterdomain = try Self.symbol(evtchn, "xenevtchn_bind_interdomain")
        evtchnUnbind = try Self.symbol(evtchn, "xenevtchn_unbind")
        evtchnPending = try Self.symbol(evtchn, "xenevtchn_pending")
        evtchnUnmask = try Self.symbol(evtchn, "xenevtchn_unmask")
    }

    private static func open(_ library: String) throws(PlatformError) -> UnsafeMutableRawPointer {
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            throw .xenUnavailable("\(library) cannot be loaded (Debian: libxengnttab1, libxenevtchn1): \(lastError())")
        }
        return handle
    }

    private static func symbol<T>(_ library: UnsafeMutableRawPointer, _ name: String) throws(PlatformError) -> T {
        guard let address = dlsym(library, name) else { throw .xenUnavailable("\(name) is missing: \(lastError())") }
        return unsafeBitCast(address, to: T.self)
    }

    private static func lastError() -> String { dlerror().map { String(cString: $0) } ?? "unknown error" }
}
