import AtRestStorage
import AtRestWire

/// What a front door holds of the registry in memory (`AccountRegistry`),
/// by record name on the backend.
///
/// Every local write and every backend read applied here carries a stamp:
/// a refresh pass applies what it read only over entries not written since
/// it started, so it never puts back an older version.
struct RegistryCache: Sendable {
    struct Entry: Sendable {
        /// nil: deleted here, or stored bytes that do not open (failed closed).
        var record: AccountRecord?
        var version: BackendVersion?
        var stamp: UInt64
    }

    /// How an admission read that found no usable record ended.
    enum Miss: Sendable {
        case absent
        case failed(RPCStatus)
    }

    private(set) var entries: [String: Entry] = [:]
    /// Account id → record name, for the entries that hold a record.
    private var names: [String: String] = [:]
    private(set) var stamp: UInt64 = 0
    /// Admission reads that found nothing, until the end of the next refresh pass.
    var misses: [String: Miss] = [:]
    /// Admission reads running.
    var lookups: Set<String> = []
    static let maxMisses = 10_000
    static let maxLookups = 256

    func record(_ account: String) -> AccountRecord? { names[account].flatMap { entries[$0]?.record } }

    /// Sets the entry of `name`; with `since`, only when nothing was written
    /// to it after that stamp. False when it was left alone.
    @discardableResult
    mutating func set(_ name: String, _ record: AccountRecord?, _ version: BackendVersion?, since: UInt64?) -> Bool {
        if let since, let entry = entries[name], entry.stamp > since { return false }
        stamp += 1
        if let old = entries[name]?.record { names[old.info.accountID] = nil }
        entries[name] = Entry(record: record, version: version, stamp: stamp)
        if let record {
            names[record.info.accountID] = name
            misses[record.info.accountID] = nil
        }
        return true
    }

    /// Drops the entries whose names the backend no longer lists.
    mutating func keep(only listed: Set<String>, since: UInt64) {
        for (name, entry) in entries where !listed.contains(name) && entry.stamp <= since {
            if let record = entry.record { names[record.info.accountID] = nil }
            entries[name] = nil
        }
    }
}
