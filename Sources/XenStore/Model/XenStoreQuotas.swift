/// The per-domain limits a store enforces on unprivileged domains, as xenstored does.
///
/// Domain 0 is never limited (xenstored applies its quotas only to unprivileged domains).
/// `nil` means no limit. A domain over its watch quota gets `E2BIG`, a connection over its
/// transaction quota `ENOSPC`, the errors xenstored answers.
public struct XenStoreQuotas: Hashable, Sendable {
    /// Most watches all sessions of one unprivileged domain may hold together.
    public var watchesPerDomain: Int?
    /// Most transactions one unprivileged session (connection) may hold open at once.
    public var transactionsPerSession: Int?

    /// Limits as given; `nil` lifts one.
    public init(watchesPerDomain: Int?, transactionsPerSession: Int?) {
        self.watchesPerDomain = watchesPerDomain
        self.transactionsPerSession = transactionsPerSession
    }

    /// xenstored's defaults (Xen 4.17): 128 watches per domain, 10 transactions per connection.
    public static let xenstoredDefaults = XenStoreQuotas(watchesPerDomain: 128, transactionsPerSession: 10)

    /// No limit for anyone.
    public static let unlimited = XenStoreQuotas(watchesPerDomain: nil, transactionsPerSession: nil)
}
