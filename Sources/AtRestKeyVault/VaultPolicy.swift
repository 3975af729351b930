import AtRestCrypto
import AtRestLocalState
import AtRestWire
import Synchronization

/// Access grants and reference counts, persisted sealed under the root key
/// (`vault.state`). Every change is written (atomically) before it takes
/// effect in memory, so a failed write changes nothing.
final class VaultPolicy: Sendable {
    private let file: SealedFile
    private let state: Mutex<Tables>

    struct Tables {
        /// Unversioned key → principal → allowed operations.
        var grants: [KeyRef: [String: Set<KeyOperation>]] = [:]
        /// Unversioned key → principal → the managed identity's (tenant, account) at grant time.
        var bindings: [KeyRef: [String: GrantBinding]] = [:]
        /// Versioned key → wrapped account keys stored data holds.
        var references: [KeyRef: UInt64] = [:]
        /// Unversioned key → the service principal that created it.
        var creators: [KeyRef: String] = [:]
        /// Managed identity → its tenant since its account moved.
        var moved: [String: VaultIdentityTenant] = [:]
    }

    init(file: SealedFile) throws(VaultError) {
        self.file = file
        var tables = Tables()
        if let secret = try vaulted({ () throws(LocalStateError) in try file.read() }) {
            let message: VaultStateMessage
            do { message = try secret.withUnsafeBytes { try VaultStateMessage(serialized: $0) } } catch {
                throw VaultError(.corrupt, "vault state '\(file.path)' authenticates but does not parse: \(error)")
            }
            for grant in message.grants {
                tables.grants[grant.key, default: [:]][grant.principalID] = grant.operations
                if !grant.tenant.isEmpty {
                    tables.bindings[grant.key, default: [:]][grant.principalID] = GrantBinding(tenant: grant.tenant, accountID: grant.accountID)
                }
            }
            for count in message.references { tables.references[count.key] = count.count }
            for creator in message.creators { tables.creators[creator.key.unversioned] = creator.principalID }
            for move in message.moved { tables.moved[move.principalID] = move }
        }
        state = Mutex(tables)
    }

    func allows(_ principalID: String, _ operation: KeyOperation, on key: KeyRef) -> Bool {
        state.withLock { $0.grants[key.unversioned]?[principalID]?.contains(operation) ?? false }
    }

    /// The managed-identity binding of a principal's grant on `key`, if any.
    func binding(_ principalID: String, on key: KeyRef) -> GrantBinding? {
        state.withLock { $0.bindings[key.unversioned]?[principalID] }
    }

    /// The service principal that created `key`, if a service did.
    func creator(of key: KeyRef) -> String? {
        state.withLock { $0.creators[key.unversioned] }
    }

    func setCreator(_ principalID: String, of key: KeyRef) throws(VaultError) {
        try update { tables in tables.creators[key.unversioned] = principalID }
    }

    /// The tenant a managed identity moved to, if its account moved.
    func movedTenant(of principalID: String) -> String? {
        state.withLock { $0.moved[principalID]?.tenant }
    }

    /// Records a move; returns the keys the identity holds grants on.
    func recordMove(_ move: VaultIdentityTenant) throws(VaultError) -> [KeyRef] {
        try update { tables in
            tables.moved[move.principalID] = move
            return tables.grants.filter { $0.value[move.principalID] != nil }.map(\.key).sorted { $0.description < $1.description }
        }
    }

    func hasAnyGrant(_ principalID: String, on key: KeyRef) -> Bool {
        state.withLock { !($0.grants[key.unversioned]?[principalID]?.isEmpty ?? true) }
    }

    func grants(on key: KeyRef) -> [AccessGrant] {
        state.withLock { Self.grants(on: key.unversioned, in: $0) }
    }

    /// Adds (`add`) or removes the grant's operations (all when empty on removal).
    func change(_ grant: AccessGrant, add: Bool) throws(VaultError) -> [AccessGrant] {
        try update { tables in
            var ops = tables.grants[grant.key]?[grant.principalID] ?? []
            if add { ops.formUnion(grant.operations) } else { ops.subtract(grant.operations.isEmpty ? Set(KeyOperation.allCases) : grant.operations) }
            tables.grants[grant.key, default: [:]][grant.principalID] = ops.isEmpty ? nil : ops
            if tables.grants[grant.key]?.isEmpty == true { tables.grants[grant.key] = nil }
            // A re-grant records the identity's tenant as it is now (the repair after a move).
            if ops.isEmpty {
                tables.bindings[grant.key]?[grant.principalID] = nil
            } else if add, !grant.tenant.isEmpty {
                tables.bindings[grant.key, default: [:]][grant.principalID] = GrantBinding(tenant: grant.tenant, accountID: grant.accountID)
            }
            if tables.bindings[grant.key]?.isEmpty == true { tables.bindings[grant.key] = nil }
            return Self.grants(on: grant.key, in: tables)
        }
    }

    /// Adds `delta` (±1) to a version's reference count and returns the new count.
    func reference(_ key: KeyRef, delta: Int) throws(VaultError) -> UInt64 {
        try update { (tables: inout Tables) throws(VaultError) -> UInt64 in
            let current = tables.references[key] ?? 0
            if delta < 0, current == 0 {
                throw VaultError(.invalidArgument, "\(key) has no registered references to remove")
            }
            let next = delta < 0 ? current - 1 : current + 1
            tables.references[key] = next == 0 ? nil : next
            return next
        }
    }

    /// Version → count for one key.
    func references(of key: KeyRef) -> [UInt32: UInt64] {
        state.withLock { tables in
            var out: [UInt32: UInt64] = [:]
            for (ref, count) in tables.references where ref.unversioned == key.unversioned { out[ref.version] = count }
            return out
        }
    }

    /// Drops grants and references of a purged key, so a new key with the
    /// same id starts with no access.
    func forget(_ key: KeyRef) throws(VaultError) {
        _ = try update { tables in
            tables.grants[key.unversioned] = nil
            tables.bindings[key.unversioned] = nil
            tables.creators[key.unversioned] = nil
            tables.references = tables.references.filter { $0.key.unversioned != key.unversioned }
        }
    }

    private func update<R>(_ body: (inout Tables) throws(VaultError) -> R) throws(VaultError) -> R {
        try state.withLock { tables throws(VaultError) -> R in
            var next = tables
            let result = try body(&next)
            let message = VaultStateMessage(
                grants: next.grants.keys.sorted { $0.description < $1.description }.flatMap { Self.grants(on: $0, in: next) },
                references: next.references.sorted { $0.key.description < $1.key.description }.map { ReferenceCount(key: $0.key, count: $0.value) },
                creators: next.creators.sorted { $0.key.description < $1.key.description }.map { KeyCreator(key: $0.key, principalID: $0.value) },
                moved: next.moved.values.sorted { $0.principalID < $1.principalID })
            let bytes = message.serialized()
            try vaulted { () throws(LocalStateError) in try file.write(bytes) }
            tables = next
            return result
        }
    }

    private static func grants(on key: KeyRef, in tables: Tables) -> [AccessGrant] {
        (tables.grants[key] ?? [:]).sorted { $0.key < $1.key }.map {
            let binding = tables.bindings[key]?[$0.key]
            return AccessGrant(key: key, principalID: $0.key, operations: $0.value,
                               tenant: binding?.tenant ?? "", accountID: binding?.accountID ?? "")
        }
    }
}

/// The tenant and account of a managed identity when it was granted a key.
struct GrantBinding: Sendable, Equatable {
    var tenant: String
    var accountID: String
}
