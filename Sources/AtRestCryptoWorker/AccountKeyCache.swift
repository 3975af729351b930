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
        var context: AccountContext
        var key: AccountKey?
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
    private var entries: [String: Entry] = [:]
    private var pending: [PendingKey: Task<AccountKey, any Error>] = [:]
    private struct PendingKey: Hashable { var account: String; var wrapped: [UInt8]; var infrastructure: [UInt8]? }
    /// Unwraps done (for tests and stats).
    public private(set) var unwrapCount = 0
    /// Calls served from the cache, keys dropped (vault event or refusal on
    /// re-check), and vault key events seen (operator status).
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

    /// The account's key for this call's context, unwrapping it if needed.
    public func key(for context: AccountContext) async throws -> AccountKey {
        let now = monotonicNanos()
        if let entry = entries[context.accountID], entry.context.sameWrappedKeys(as: context), entry.expires > now {
            if let key = entry.key {
                hitCount += 1
                return key
            }
            if let refusal = entry.refusal { throw refusal }
        }
        let slot = PendingKey(account: context.accountID, wrapped: context.wrappedKey, infrastructure: context.infrastructureEntry?.wrappedKey)
        if let task = pending[slot] { return try await task.value }
        let task = Task { try await self.load(context) }
        pending[slot] = task
        defer { pending[slot] = nil }
        return try await task.value
    }

    private func load(_ context: AccountContext) async throws -> AccountKey {
        do {
            let secret = try await withSpan("unwrap", ofKind: .client) { _ in try await unwrap(context) }
            unwrapCount += 1
            let reference = KeyReference(provider: context.provider, keyID: context.keyID, keyVersion: context.keyVersion,
                                         accountKeyVersion: max(1, context.accountKeyVersion))
            var key = try AccountKey(key: secret, reference: reference)
            if let infrastructure = context.infrastructureContext {
                // The second layer's key: the same vault rules; a refusal blocks the account like the current key's.
                let secret = try await withSpan("unwrap", ofKind: .client) { _ in try await unwrap(infrastructure) }
                unwrapCount += 1
                key = key.withInfrastructure(try InfrastructureKey(key: secret, accountKeyVersion: infrastructure.accountKeyVersion))
            }
            entries[context.accountID] = Entry(context: context, key: key, expires: monotonicNanos() + configuration.ttl.nanoseconds)
            return key
        } catch let status as RPCStatus where KeyAccessError.isKeyRefusal(status) {
            remember(refusal: status, for: context)
            throw status
        }
    }

    private func remember(refusal: RPCStatus, for context: AccountContext) {
        if entries[context.accountID]?.key != nil { dropCount += 1 }
        entries[context.accountID] = Entry(context: context, refusal: refusal, expires: monotonicNanos() + configuration.refusalTTL.nanoseconds)
        logger.notice("account key not accessible", metadata: [
            "account": "\(context.accountID)", "key": "\(context.provider)/\(context.keyID)", "reason": "\(refusal.message)",
        ])
    }

    /// Drops every cached key wrapped by `provider/keyID` (a vault event).
    @discardableResult
    public func drop(provider: String, keyID: String) -> Int {
        let victims = entries.filter { $0.value.context.isWrapped(byProvider: provider, keyID: keyID) && $0.value.key != nil }
        for account in victims.keys { entries[account] = nil }
        dropCount += victims.count
        if !victims.isEmpty {
            logger.info("dropped cached account keys", metadata: ["key": "\(provider)/\(keyID)", "accounts": "\(victims.count)"])
        }
        return victims.count
    }

    /// Counts one vault key event (whatever it does to the cache).
    public func noteEvent() { eventCount += 1 }

    /// Accounts whose key is cached now.
    public var cachedAccounts: [String] { entries.filter { $0.value.key != nil }.keys.sorted() }

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
                        if let infrastructure = context.infrastructureContext { try await self.check(infrastructure) }
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
                      entries[context.accountID]?.context.sameWrappedKeys(as: context) == true else { continue }
                remember(refusal: status, for: context)
            }
        }
    }
}
