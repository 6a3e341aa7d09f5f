// What both drivers do with the store: watch the peer, read its nodes, write their own.

import Foundation
import XenStore

/// One end's view of a device in the store: its own directory and its peer's.
struct DeviceEndpoint {
    /// Most nodes read from a peer's directory; a valid blkif device publishes a few dozen.
    static let nodeLimit = 1024
    /// Longest sleep between looks at the peer's state while waiting (events wake it sooner).
    static let pollInterval = Duration.milliseconds(50)

    let store: any XenStore
    let own: XenStorePath
    let peer: XenStorePath
    let token: WatchToken

    init(store: any XenStore, own: XenStorePath, peer: XenStorePath) {
        self.store = store
        self.own = own
        self.peer = peer
        token = WatchToken("xenbus:" + own.rawValue)
    }

    /// Registers the watch on the peer's `state` node (its first event is drained by the loop).
    func watchPeer() throws(XenBusError) {
        do { try store.watch(peer.child("state"), token: token) } catch { throw .store(error) }
    }

    /// Removes the watch; a session that is gone has none.
    func unwatchPeer() { try? store.unwatch(peer.child("state"), token: token) }

    /// What the peer's `state` node says now.
    func peerState() throws(XenBusError) -> PeerState {
        do { return PeerState(nodeValue: try store.readIfPresent(peer.child("state"))) } catch { throw .store(error) }
    }

    /// Our own `state` node, or nil when our directory is gone.
    func ownState() throws(XenBusError) -> PeerState {
        do { return PeerState(nodeValue: try store.readIfPresent(own.child("state"))) } catch { throw .store(error) }
    }

    /// The peer's directory, two levels deep (`queue-<n>/…`), at most ``nodeLimit`` nodes in all.
    func peerNodes() throws(XenBusError) -> Result<NodeValues, NegotiationError> {
        var values: [String: String] = [:]
        var count = 0
        do {
            for name in try store.directory(peer) {
                let path = try peer.appending(name)
                let children = name.hasPrefix("queue-") ? try store.directory(path) : []
                count += 1 + children.count
                guard count <= Self.nodeLimit else { return .failure(.tooManyNodes(directory: peer.rawValue, count: count)) }
                values[name] = try store.readIfPresent(path)
                for child in children { values[name + "/" + child] = try store.readIfPresent(try path.appending(child)) }
            }
        } catch where error.code == .ENOENT {
            return .success(NodeValues())  // the peer vanished while being read; its state says so next
        } catch {
            throw .store(error)
        }
        return .success(NodeValues(values.compactMapValues { $0 }))
    }

    /// Writes `nodes` and our `state` in one transaction (retried on conflict), first removing
    /// the nodes of ours that `stale` matches, so nothing of an earlier connection survives.
    func publish(_ nodes: [String: String], state: XenbusState, removing stale: (String) -> Bool = { _ in false }) throws(XenBusError) {
        do {
            try store.transaction { transaction in
                for name in try transaction.directory(own) where stale(name) { try transaction.rm(try own.appending(name)) }
                for (name, value) in nodes { try transaction.write(try own.appending(name), value) }
                try transaction.write(own.child("state"), state.nodeValue)
            }
        } catch let error as XenStoreError {
            throw .store(error)
        } catch {
            throw .store(.connection("\(error)"))
        }
    }

    /// Writes our `state`, unless our directory is gone (a removed device is not recreated).
    func setState(_ state: XenbusState) throws(XenBusError) {
        guard case .state = try ownState() else { return }
        do { try store.write(own.child("state"), state.nodeValue) } catch { throw .store(error) }
    }

    /// Writes `message` to our `error` node, where a toolstack looks (best effort: a device
    /// being removed may already be gone).
    func recordError(_ message: String) {
        guard case .state? = try? ownState() else { return }
        try? store.write(own.child("error"), message)
    }

    /// Calls `advance` until it returns one of `targets`, sleeping between calls until the peer's
    /// state changes. - Throws: ``XenBusError/timedOut(waitingFor:own:peer:after:)`` after `timeout`.
    func run(until targets: Set<XenbusState>, timeout: Duration,
             advance: () throws(XenBusError) -> XenbusState) throws(XenBusError) -> XenbusState {
        let deadline = ContinuousClock.now + timeout
        while true {
            let state = try advance()
            if targets.contains(state) { return state }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw .timedOut(waitingFor: targets.sorted { $0.rawValue < $1.rawValue }, own: state, peer: try peerState(), after: timeout)
            }
            waitForEvent(upTo: remaining)
        }
    }

    /// Sleeps until a watch event arrives or `limit` passes, whichever is first, and drops
    /// whatever else is queued (every step rereads the nodes it needs).
    func waitForEvent(upTo limit: Duration) {
        _ = store.events.next(timeout: min(limit, Self.pollInterval))
        _ = store.events.drain()
    }
}
