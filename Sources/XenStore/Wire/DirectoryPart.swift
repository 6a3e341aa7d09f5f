/// `XS_DIRECTORY_PART`: a child list too long for one `XENSTORE_PAYLOAD_MAX` reply, in pieces.
///
/// The request is `<path>|<offset>|`, `offset` a byte offset into the complete list (each
/// name nul-terminated). The reply is `<gencnt>|` (the node's generation, unchanged as long
/// as the node is) followed by the whole names starting at `offset` that fit, and one more
/// NUL (an empty name) when the list ends in this piece.
enum DirectoryPart {
    /// The reply payload for the child list `children` of a node at `generation`, from byte
    /// `offset` on. Never longer than `XENSTORE_PAYLOAD_MAX`, given names of at most
    /// `XENSTORE_ABS_PATH_MAX` bytes.
    static func reply(generation: UInt64, children: [String], offset: Int) -> [UInt8] {
        let header = Array(String(generation).utf8) + [0]
        let list = WireMessage.strings(children)
        guard offset < list.count else { return header + [0] }
        let budget = WireMessage.payloadMax - header.count - 1  // room for the final empty name
        var end = offset
        while end < list.count, let nul = list[end...].firstIndex(of: 0), nul + 1 - offset <= budget {
            end = nul + 1
        }
        return header + list[offset..<end] + (end == list.count ? [0] : [])
    }

    /// One reply taken apart: the generation text and the list bytes it carries.
    struct Piece: Equatable {
        /// The node's generation, as sent.
        let generation: [UInt8]
        /// Nul-terminated names (the final empty name, if any, removed).
        let names: [UInt8]
        /// Whether the list ends with this piece.
        let isLast: Bool
    }

    /// Parses a reply; nil if it does not start with a nul-terminated generation.
    static func piece(_ payload: [UInt8]) -> Piece? {
        guard let nul = payload.firstIndex(of: 0) else { return nil }
        var names = Array(payload[(nul + 1)...])
        let isLast = names == [0] || names.suffix(2) == [0, 0]
        if isLast { names.removeLast() }
        guard names.isEmpty || names.last == 0 else { return nil }
        return Piece(generation: Array(payload[..<nul]), names: names, isLast: isLast)
    }
}
