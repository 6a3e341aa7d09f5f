// Byte sizes on the command line: 512, 4k, 64K, 1m.

import ArgumentParser

/// A byte count written as a number with an optional k/m/g suffix (powers of 1024).
struct ByteSize: ExpressibleByArgument, CustomStringConvertible {
    /// The size in bytes.
    let bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let lower = argument.lowercased()
        let multipliers: [Character: Int] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        var digits = Substring(lower)
        var multiplier = 1
        if lower.hasSuffix("ib") { digits = digits.dropLast(2) } else if lower.hasSuffix("b") { digits = digits.dropLast() }
        if let last = digits.last, let factor = multipliers[last] {
            multiplier = factor
            digits = digits.dropLast()
        }
        guard let value = Int(digits), value > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        bytes = product
    }

    var description: String {
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)m" }
        if bytes % (1 << 10) == 0 { return "\(bytes >> 10)k" }
        return String(bytes)
    }
}
