// The toolstack's part of a vbd, done with our XenBus device-creation function instead of
// xl block-attach / block-detach (whose hotplug scripts are slow under emulation).

import XenBus
import XenStore

/// `create-vbd` and `detach-vbd`: one device between a frontend domain and domain 0.
enum ToolstackCommands {
    /// `create-vbd <frontend> <devid> <params> <type> [<major:minor>]`: writes both ends'
    /// directories with `Toolstack.createDevice`, as `xl block-attach` does. With a device
    /// number it also writes the backend's `physical-device` (hexadecimal `major:minor`), which
    /// is what xl's block hotplug script adds for Linux's blkback. Prints the backend path.
    static func createVirtualBlockDevice(_ words: [String]) throws -> Int32 {
        guard words.count >= 4, let frontend = UInt16(words[0]), let id = UInt32(words[1]) else {
            print("usage: create-vbd <frontend-domid> <devid> <params> <type> [<major:minor>]")
            return 2
        }
        let store = try XenStoreClient(timeout: .seconds(30))
        defer { store.close() }
        let device = VirtualBlockDevice(frontendDomain: DomainID(frontend), id: DeviceID(id))
        let configuration = DeviceConfiguration(params: words[2], type: words[3], dev: guestName(of: id), virtualDevice: id)
        try Toolstack.createDevice(device, configuration: configuration, in: store)
        if words.count > 4 {
            let numbers = words[4].split(separator: ":").compactMap { UInt32($0) }
            guard numbers.count == 2 else { print("bad device number \(words[4]): expected major:minor"); return 2 }
            try store.write(try device.backendPath.appending("physical-device"),
                            String(numbers[0], radix: 16) + ":" + String(numbers[1], radix: 16))
        }
        print(device.backendPath)
        return 0
    }

    /// The guest's name of a Xen disk number (`virtual-device` = 202 << 8 | disk << 4):
    /// `xvda` for 51712, `xvdd` for 51760; other numbers are named by their value.
    static func guestName(of id: UInt32) -> String {
        let disk = (id & 0xFF) >> 4
        guard id >> 8 == 202, disk < 26, let letter = UnicodeScalar(97 + disk) else { return "xvd\(id)" }
        return "xvd" + String(Character(letter))
    }

    /// `detach-vbd <frontend> <devid> <seconds>`: the handshake `xl block-detach` performs on the
    /// backend the frontend's `backend` node names: the backend's `online` to 0 and, unless already Closed, `state` to Closing (5); once the
    /// backend reaches Closed (6),
    /// or after `seconds`, both directories are removed with `Toolstack.removeDevice`.
    /// Exits 0 only when the backend closed in time.
    static func detachVirtualBlockDevice(_ words: [String]) throws -> Int32 {
        guard words.count == 3, let frontend = UInt16(words[0]), let id = UInt32(words[1]), let seconds = Int(words[2]) else {
            print("usage: detach-vbd <frontend-domid> <devid> <seconds>")
            return 2
        }
        let store = try XenStoreClient(timeout: .seconds(30))
        defer { store.close() }
        // The backend, of whatever type, is where the frontend's `backend` node says.
        guard let device = try VirtualBlockDevice.located(frontendDomain: DomainID(frontend), id: DeviceID(id), in: store) else {
            print("no vbd \(id) in domain \(frontend): its frontend directory has no backend node")
            return 1
        }
        let state = try device.backendPath.appending("state")
        try store.write(try device.backendPath.appending("online"), "0")
        // As libxl: a backend already Closed (its frontend closed first) is not moved back.
        if try store.readIfPresent(state) != XenbusState.closed.nodeValue {
            try store.write(state, XenbusState.closing.nodeValue)
        }
        let token = WatchToken("detach")
        try store.watch(state, token: token)
        let deadline = ContinuousClock.now + .seconds(seconds)
        var closed = false
        while !closed, ContinuousClock.now < deadline {
            closed = try store.readIfPresent(state) == XenbusState.closed.nodeValue
            if !closed { _ = store.events.next(timeout: .milliseconds(500)) }
        }
        try store.unwatch(state, token: token)
        let frontState = try store.readIfPresent(try device.frontendPath.appending("state")) ?? "absent"
        try Toolstack.removeDevice(device, from: store)
        print("\(device): backend \(closed ? "closed" : "did not close in \(seconds) s"), frontend state \(frontState); removed")
        return closed ? 0 : 1
    }
}
