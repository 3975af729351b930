import AtRestCrypto
import AtRestMessaging
import AtRestStorage
import AtRestWire
import Tracing
import Logging

/// Unwrapped account keys, one vault call per account (and per wrapping):
/// the S3 Bucket Keys idea, which is what makes per-object vault calls
/// unnecessary.
///
/// An entry is keyed by account and remembers the wrapped blob it came from,
/// so a re-wrap (rotation, switch to a customer key) is picked up by the
/// next call without any event. Entries die:
/// - at their hard TTL (`ttl`), whatever happens;
/// - at once on `drop(provider:keyID:)` (a vault event for that key);
/// - when the periodic re-check (`recheck`) finds the key no longer usable
///   (PUB/SUB can lose an event; the timer bounds how long that matters).
/// A refusal is remembered for `refusalTTL`, so a revoked account's calls
/// fail fast without hammering the vault, and recover soon after re-enabling.
public actor AccountKeyCache {
    public struct Configuration: Sendable {
        public var ttl: Duration
        public var refusalTTL: Duration
        public init(ttl: Duration = .seconds(300), refusalTTL: Duration = .milliseconds(250)) {
            self.ttl = ttl
            self.refusalTTL = refusalTTL
        }
    }

    private struct Entry {
        /// The context of this one version (the current key's, or built from an
        /// `AccountContext.keys` entry): what was unwrapped and what `recheck` asks about.
        var context: AccountContext
        var key: AccountKey?
        /// The account's name key when this version provides it (see `compose`).
        var names: SecretBytes?
        /// This version as the infrastructure layer's key, built on first use
        /// (its check value is an HKDF: once per unwrap, not once per call).
        var infrastructure: InfrastructureKey?
        var refusal: RPCStatus?
        /// `monotonicNanos()` reading.
        var expires: UInt64
    }

    private let unwrap: @Sendable (AccountContext) async throws -> SecretBytes
    /// Throws the vault's refusal when the context's key may no longer be
    /// unwrapped (KeyStatus: no key material leaves the vault, unlike Unwrap).
    private let check: @Sendable (AccountContext) async throws -> Void
    private let configuration: Configuration
    private let logger: Logger
    /// One entry per account and account key version.
    private var entries: [Slot: Entry] = [:]
    private struct Slot: Hashable { var account: String; var version: UInt32 }
    private var pending: [PendingKey: Task<Entry, any Error>] = [:]
    private struct PendingKey: Hashable { var account: String; var wrapped: [UInt8] }
    /// Unwraps done (for tests and stats).
    public private(set) var unwrapCount = 0
    /// Calls served from the cache, keys dropped (vault event or refusal on
    /// re-check; counted per account), and vault key events seen (operator status).
    public private(set) var hitCount = 0
    public private(set) var dropCount = 0
    public private(set) var eventCount = 0

    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "atrest.worker.keys"),
                unwrap: @escaping @Sendable (AccountContext) async throws -> SecretBytes,
                check: (@Sendable (AccountContext) async throws -> Void)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.unwrap = unwrap
        self.check = check ?? { _ = try await unwrap($0) }
    }

    /// The account's key for this call's context, unwrapping it if needed:
    /// the current key (what new writes use), able to open the older
    /// versions of the account's own chain in `context.keys` too, hashing
    /// names with the account's stable name key.
    public func key(for context: AccountContext) async throws -> AccountKey {
        var missed = false
        let current = try await versionEntry(Self.currentContext(of: context), missed: &missed)
        let older = context.keys.filter(\.isOwnChain)
        guard let currentKey = current.key else { throw RPCStatus(.internal, "account key entry without a key") }
        // The infrastructure layer's key (double encryption): its own slot, the same
        // vault rules; a refusal blocks the account like the current key's.
        var infrastructure: InfrastructureKey?
        if let entry = context.infrastructureEntry {
            infrastructure = try await infrastructureKey(entry, in: context, missed: &missed)
        }
        if older.isEmpty {
            if !missed { hitCount += 1 }
            return currentKey.withInfrastructure(infrastructure)
        }
        var versions: [Entry] = []
        for entry in older { versions.append(try await versionEntry(Self.context(of: entry, in: context), missed: &missed)) }
        if !missed { hitCount += 1 }
        return try Self.compose(current: current, older: versions, entries: older).withInfrastructure(infrastructure)
    }

    /// The key of the name-key version: a names-only entry's unwrapped bytes, else
    /// HKDF of the lowest own-chain version (the account's first key).
    private static func compose(current: Entry, older: [Entry], entries: [AccountKeyEntry]) throws -> AccountKey {
        guard let currentKey = current.key else { throw RPCStatus(.internal, "account key entry without a key") }
        let all = [current] + older
        let names = zip(older, entries).first(where: { $0.1.namesOnly })?.0.key?.key
            ?? all.filter { $0.key != nil }.min(by: { $0.context.accountKeyVersion < $1.context.accountKeyVersion })?.names
        guard let names else { throw RPCStatus(.internal, "account has no name key") }
        let readable = zip(older, entries).filter { !$0.1.namesOnly }.compactMap(\.0.key)
        return try currentKey.renamed(nameKey: names).adding(readable)
    }

    /// The current key's context alone (its entries are separate slots).
    private static func currentContext(of context: AccountContext) -> AccountContext {
        var only = context
        only.keys = []
        only.accountKeyVersion = max(1, context.accountKeyVersion)
        return only
    }

    /// The context of one `AccountContext.keys` entry, as the vault sees it.
    private static func context(of entry: AccountKeyEntry, in context: AccountContext) -> AccountContext {
        AccountContext(accountID: context.accountID, tenant: context.tenant, managedIdentity: context.managedIdentity,
                       wrappedKey: entry.wrappedKey, provider: entry.provider, keyID: entry.keyID, keyVersion: entry.keyVersion,
                       accountKeyVersion: entry.accountKeyVersion, principalID: context.principalID, pool: context.pool)
    }

    /// The key of one entry of `context.keys` on its own (an encryption
    /// scope's: AccountKeyCache+Scopes), unwrapped and cached like any version.
    func entryKey(_ entry: AccountKeyEntry, in context: AccountContext) async throws -> AccountKey {
        var missed = false
        guard let key = try await versionEntry(Self.context(of: entry, in: context), missed: &missed).key else {
            throw RPCStatus(.internal, "account key entry without a key")
        }
        return key
    }

    /// The infrastructure layer's key of `context`, kept in its version's slot.
    private func infrastructureKey(_ entry: AccountKeyEntry, in context: AccountContext, missed: inout Bool) async throws -> InfrastructureKey {
        let layerContext = Self.context(of: entry, in: context)
        let layer = try await versionEntry(layerContext, missed: &missed)
        if let built = layer.infrastructure { return built }
        guard let key = layer.key else { throw RPCStatus(.internal, "infrastructure key entry without a key") }
        let built = try InfrastructureKey(key: key.key, accountKeyVersion: entry.accountKeyVersion)
        let slot = Slot(account: layerContext.accountID, version: layerContext.accountKeyVersion)
        if entries[slot]?.context.wrappedKey == layerContext.wrappedKey, entries[slot]?.key != nil {
            entries[slot]?.infrastructure = built
        }
        return built
    }

    private func versionEntry(_ context: AccountContext, missed: inout Bool) async throws -> Entry {
        let slot = Slot(account: context.accountID, version: context.accountKeyVersion)
        if let entry = entries[slot], entry.context.wrappedKey == context.wrappedKey, entry.expires > monotonicNanos() {
            if entry.key != nil { return entry }
            if let refusal = entry.refusal { throw refusal }
        }
        missed = true
        let pendingSlot = PendingKey(account: context.accountID, wrapped: context.wrappedKey)
        if let task = pending[pendingSlot] { return try await task.value }
        let task = Task { try await self.load(context) }
        pending[pendingSlot] = task
        defer { pending[pendingSlot] = nil }
        return try await task.value
    }

    private func load(_ context: AccountContext) async throws -> Entry {
        do {
            let secret = try await withSpan("unwrap", ofKind: .client) { _ in try await unwrap(context) }
            unwrapCount += 1
            let reference = KeyReference(provider: context.provider, keyID: context.keyID, keyVersion: context.keyVersion,
                                         accountKeyVersion: context.accountKeyVersion)
            let key = try AccountKey(key: secret, reference: reference)
            // The name key this version would give as the account's first version
            // (a names-only entry's secret is the name key itself: see `compose`).
            let names = try AccountKey.nameKey(derivedFrom: secret)
            let entry = Entry(context: context, key: key, names: names, expires: monotonicNanos() + configuration.ttl.nanoseconds)
            entries[Slot(account: context.accountID, version: context.accountKeyVersion)] = entry
            return entry
        } catch let status as RPCStatus where KeyAccessError.isKeyRefusal(status) {
            remember(refusal: status, for: context)
            throw status
        }
    }

    private func remember(refusal: RPCStatus, for context: AccountContext) {
        let slot = Slot(account: context.accountID, version: context.accountKeyVersion)
        if entries[slot]?.key != nil { dropCount += 1 }
        entries[slot] = Entry(context: context, refusal: refusal, expires: monotonicNanos() + configuration.refusalTTL.nanoseconds)
        logger.notice("account key not accessible", metadata: [
            "account": "\(context.accountID)", "key": "\(context.provider)/\(context.keyID)",
            "accountKeyVersion": "\(context.accountKeyVersion)", "reason": "\(refusal.message)",
        ])
    }

    /// Drops every cached key wrapped by `provider/keyID` (a vault event),
    /// every account key version of it; returns the accounts affected.
    @discardableResult
    public func drop(provider: String, keyID: String) -> Int {
        let victims = entries.filter { $0.value.context.provider == provider && $0.value.context.keyID == keyID && $0.value.key != nil }
        for slot in victims.keys { entries[slot] = nil }
        let accounts = Set(victims.keys.map(\.account)).count
        dropCount += accounts
        if !victims.isEmpty {
            logger.info("dropped cached account keys", metadata: ["key": "\(provider)/\(keyID)", "accounts": "\(accounts)"])
        }
        return accounts
    }

    /// Counts one vault key event (whatever it does to the cache).
    public func noteEvent() { eventCount += 1 }

    /// Accounts whose key is cached now.
    public var cachedAccounts: [String] { Set(entries.filter { $0.value.key != nil }.keys.map(\.account)).sorted() }

    /// Asks the vault again (KeyStatus) for every cached key; a refusal drops the key at
    /// once (and is remembered), an unreachable vault leaves it until its TTL.
    public func recheck() async {
        let now = monotonicNanos()
        entries = entries.filter { $0.value.expires > now }
        let contexts = entries.values.filter { $0.key != nil }.map(\.context)
        await withTaskGroup(of: (AccountContext, RPCStatus?).self) { group in
            for context in contexts {
                group.addTask {
                    do {
                        try await self.check(context)
                        return (context, nil)
                    } catch let status as RPCStatus {
                        return (context, status)
                    } catch {
                        return (context, nil)
                    }
                }
            }
            for await (context, status) in group {
                guard let status, KeyAccessError.isKeyRefusal(status),
                      entries[Slot(account: context.accountID, version: context.accountKeyVersion)]?.context.wrappedKey == context.wrappedKey
                else { continue }
                remember(refusal: status, for: context)
            }
        }
    }
}
