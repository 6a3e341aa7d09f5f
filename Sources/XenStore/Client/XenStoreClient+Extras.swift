// The wire calls of XenStoreClient beyond the XenStore protocol: big directories in pieces,
// and the domain management a privileged (domain 0) client may ask for.

extension XenStoreClient {
    /// Most bytes of child list accepted for one directory; a server sending more is broken.
    static let directoryListLimit = 16 << 20
    /// How often a piecewise listing restarts because the directory changed meanwhile.
    static let directoryRestartLimit = 16

    /// The children of `path`, fetched with `XS_DIRECTORY_PART` from offset 0 on. The listing
    /// starts over when the node's generation changes between pieces (the directory changed),
    /// up to `directoryRestartLimit` times, then throws `EAGAIN`.
    func directoryInParts(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> [String] {
        for _ in 0..<Self.directoryRestartLimit {
            if let names = try directoryPieces(path, transaction: transaction) {
                return try strings(names)
            }
        }
        throw .store(.EAGAIN, path: path.rawValue)
    }

    /// One pass over the pieces; nil if the generation changed on the way.
    private func directoryPieces(_ path: XenStorePath, transaction: TransactionID?) throws(XenStoreError) -> [UInt8]? {
        var names: [UInt8] = []
        var generation: [UInt8]?
        while true {
            let payload = WireMessage.strings([path.rawValue, String(names.count)])
            guard let piece = DirectoryPart.piece(try request(.directoryPart, path, transaction, payload)) else {
                throw .protocolViolation("malformed XS_DIRECTORY_PART reply for \(path)")
            }
            if generation == nil { generation = piece.generation }
            guard piece.generation == generation else { return nil }
            names += piece.names
            if piece.isLast { return names }
            guard !piece.names.isEmpty, names.count <= Self.directoryListLimit else {
                throw .protocolViolation("XS_DIRECTORY_PART for \(path) makes no progress")
            }
        }
    }

    /// Introduces `domain` to the server (`XS_INTRODUCE`); on a `XenStoreServer` this opens the
    /// domain's socket, `XenStoreServer.domainSocketPath(for:serverSocket:)`. Only a privileged
    /// client may (`EACCES`). `gfn` and `port` matter only to a real xenstored, which maps the
    /// domain's ring page and binds the event channel; the embedded server ignores them.
    public func introduceDomain(_ domain: DomainID, gfn: UInt64 = 0, port: UInt32 = 1) throws(XenStoreError) {
        _ = try request(.introduce, nil, nil, WireMessage.strings([domain.description, String(gfn), String(port)]))
    }

    /// Releases `domain` (`XS_RELEASE`): the server stops serving it; `ENOENT` if not introduced.
    public func releaseDomain(_ domain: DomainID) throws(XenStoreError) {
        _ = try request(.release, nil, nil, WireMessage.strings([domain.description]))
    }

    /// Whether the server serves `domain` (`XS_IS_DOMAIN_INTRODUCED`).
    public func isDomainIntroduced(_ domain: DomainID) throws(XenStoreError) -> Bool {
        try strings(try request(.isDomainIntroduced, nil, nil, WireMessage.strings([domain.description]))) == ["T"]
    }
}
