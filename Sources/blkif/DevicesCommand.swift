// `blkif devices`: what the store holds about block devices served by domain 0.

import ArgumentParser
import Foundation
import XenBus
import XenStore

/// `blkif devices`: one line per device under `/local/domain/0/backend/<type>` for the block
/// backend types (`vbd`, `blkif`, `qdisk`, and `--backend-type`): both ends' states, the image,
/// the mode, the disk's size and any `error` node.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the block devices the store holds (both ends' states, image, errors).")

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "One JSON object per device, one per line.")
    var json = false

    func run() throws {
        let store = try XenStoreClient(socketPath: connection.socketPath, timeout: connection.storeCallLimit)
        var types: [BackendType] = [.vbd, .blkif, .qdisk]
        if let chosen = try? connection.chosenBackendType(), !types.contains(chosen) { types.append(chosen) }
        var found = 0
        for type in types {
            let root = try XenStorePath("/local/domain/0/backend/\(type)")
            for frontend in try store.directoryIfPresent(root) {
                for id in try store.directoryIfPresent(try root.appending(frontend)) {
                    let back = try root.appending(frontend).appending(id)
                    var fields = try describe(back, in: store, frontend: frontend, id: id)
                    if type != .vbd { fields.append(("backend-type", type.rawValue)) }
                    found += 1
                    print(json ? Self.json(fields) : fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
                }
            }
        }
        if found == 0 && !json { print("no block devices under /local/domain/0/backend/{\(types.map(\.rawValue).joined(separator: ","))}") }
    }

    /// The device's fields, in a fixed order.
    private func describe(_ back: XenStorePath, in store: XenStoreClient, frontend: String, id: String) throws -> [(String, String)] {
        func node(_ path: XenStorePath, _ name: String) throws -> String? { try store.readIfPresent(path.appending(name)) }
        let frontPath = try node(back, "frontend").flatMap { try? XenStorePath($0) }
        var fields: [(String, String)] = [("frontend-domain", frontend), ("device", id)]
        fields.append(("params", try node(back, "params") ?? "?"))
        fields.append(("mode", try node(back, "mode") ?? "?"))
        fields.append(("backend-state", Self.stateName(try node(back, "state"))))
        fields.append(("frontend-state", Self.stateName(try frontPath.flatMap { try node($0, "state") })))
        if let sectors = try node(back, "sectors") { fields.append(("sectors", sectors)) }
        if let error = try node(back, "error") { fields.append(("backend-error", error)) }
        if let frontPath, let error = try node(frontPath, "error") { fields.append(("frontend-error", error)) }
        return fields
    }

    /// `Connected (4)`, or what the node holds when it is not a state.
    static func stateName(_ value: String?) -> String {
        guard let value else { return "absent" }
        guard let number = Int(value), let state = XenbusState(rawValue: number) else { return "garbage(\(value))" }
        return "\(state)"
    }

    static func json(_ fields: [(String, String)]) -> String {
        let object = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension XenStoreClient {
    /// The children of `path`, or none when it is absent.
    func directoryIfPresent(_ path: XenStorePath) throws -> [String] {
        do { return try directory(path) } catch where error.code == .ENOENT { return [] }
    }
}
