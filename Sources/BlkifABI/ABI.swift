// The machine ABI that fixes the byte layout of every blkif structure on a ring.

/// The machine ABI whose C layout rules govern every request and response on a ring.
///
/// The frontend publishes it in its XenStore `protocol` node; an absent node means the
/// backend's native ABI. The ABI only changes where the 64-bit fields sit: on x86_32 they are
/// 4-byte aligned, so everything after `handle` moves 4 bytes earlier and a ring entry is
/// 108 bytes instead of 112. Choose the ABI once at connect time; every view takes it as a value.
///
/// It parses what it prints (``description``: `native`, `x86_32`, `x86_64`) and the XenStore
/// protocol names (`x86_32-abi`, `x86_64-abi`, and `arm-abi`, whose layout is x86_64's).
@frozen
public enum ABI: Sendable, Hashable, CaseIterable, LosslessStringConvertible {
    /// The ABI of the machine this code runs on (x86_64 on x86_64 and arm64 hosts).
    case native
    /// The 32-bit x86 ABI, protocol string `"x86_32-abi"`.
    case x86_32
    /// The 64-bit x86 ABI, protocol string `"x86_64-abi"`.
    case x86_64

    /// Parses a XenStore `protocol` node.
    ///
    /// - Parameter protocolName: the node's value, or `nil` when the node is absent, which
    ///   selects ``native`` as the seed's default says.
    /// - Throws: ``ABIError/unknownProtocol(_:)`` naming the string when it is not one we speak.
    public init(protocolName: String?) throws(ABIError) {
        switch protocolName {
        case nil: self = .native
        case "x86_32-abi": self = .x86_32
        case "x86_64-abi", "arm-abi": self = .x86_64  // arm's blkif layout is x86_64's
        case let other?: throw .unknownProtocol(other)
        }
    }

    /// Parses a printed ABI (``description``) or a XenStore protocol name; `nil` for anything
    /// else.
    public init?(_ description: String) {
        if let abi = ABI.allCases.first(where: { $0.description == description }) {
            self = abi
        } else if let abi = try? ABI(protocolName: description) {
            self = abi
        } else {
            return nil
        }
    }

    /// The concrete ABI: ``native`` resolved to the host's, the others unchanged.
    @inlinable @inline(__always)
    public var resolved: ABI {
        guard case .native = self else { return self }
        #if arch(i386)
        return .x86_32
        #else
        return .x86_64
        #endif
    }

    /// The string a frontend writes to its XenStore `protocol` node for this ABI
    /// (`XEN_IO_PROTO_ABI_X86_32` / `XEN_IO_PROTO_ABI_X86_64`; native prints as the host's).
    public var protocolName: String {
        resolved == .x86_32 ? "x86_32-abi" : "x86_64-abi"
    }

    /// `native`, `x86_32` or `x86_64`: the spelling used on command lines and in reports.
    public var description: String {
        switch self {
        case .native: "native"
        case .x86_32: "x86_32"
        case .x86_64: "x86_64"
        }
    }

    /// The offsets and sizes of every blkif structure in this ABI.
    ///
    /// Cheap: a switch that the optimiser folds when the ABI is a constant.
    @inlinable @inline(__always)
    public var layout: BlkifLayout {
        resolved == .x86_32 ? .x86_32 : .x86_64
    }
}

/// Why an ABI could not be chosen.
public enum ABIError: Error, Hashable, CustomStringConvertible {
    /// The `protocol` node named an ABI this package does not implement.
    case unknownProtocol(String)

    public var description: String {
        switch self {
        case .unknownProtocol(let name):
            "unknown blkif protocol \"\(name)\" (expected \"x86_32-abi\", \"x86_64-abi\" or \"arm-abi\")"
        }
    }
}
