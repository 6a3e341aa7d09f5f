// Opening what the toolstack's nodes name: `params`, `mode` and `type` of a backend directory.

import XenBus
import XenStore

/// Why a device's storage could not be opened from its backend nodes, naming the node and value.
public enum DeviceStorageError: Error, Hashable, CustomStringConvertible {
    /// A node the toolstack must write is absent.
    case missing(node: String, directory: String)
    /// A node holds a value this backend does not serve.
    case unsupported(node: String, value: String, expected: String)
    /// The store could not be read.
    case store(XenStoreError)
    /// The file or device named by `params` could not be opened.
    case storage(StorageError)

    public var description: String {
        switch self {
        case .missing(let node, let directory): "\(directory)/\(node) is missing"
        case .unsupported(let node, let value, let expected): "\(node) = \"\(value)\" is not \(expected)"
        case .store(let error): "reading the backend's nodes: \(error)"
        case .storage(let error): "\(error)"
        }
    }
}

extension FileStorage {
    /// Opens the storage the toolstack configured for `device`: `params` (the path), `mode`
    /// (`r` read-only, `w` read-write) and `type` (`file`, `phy`, or absent).
    /// - Throws: ``DeviceStorageError`` naming the node and value that cannot be served.
    public static func configured(for device: VirtualBlockDevice, in store: any XenStore) throws(DeviceStorageError) -> FileStorage {
        let directory = device.backendPath
        func node(_ name: String) throws(DeviceStorageError) -> String? {
            do { return try store.readIfPresent(try directory.appending(name)) } catch { throw .store(error) }
        }
        guard let params = try node("params"), !params.isEmpty else { throw .missing(node: "params", directory: directory.rawValue) }
        let mode = try node("mode") ?? DiskMode.readWrite.rawValue
        guard let diskMode = DiskMode(rawValue: mode) else { throw .unsupported(node: "mode", value: mode, expected: "r or w") }
        if let type = try node("type"), type != "file", type != "phy" {
            throw .unsupported(node: "type", value: type, expected: "file or phy")
        }
        do { return try FileStorage(path: params, readOnly: diskMode == .readOnly) } catch { throw .storage(error) }
    }
}
