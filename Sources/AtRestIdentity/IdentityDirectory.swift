import AtRestCrypto
import AtRestLocalState
import AtRestTokens
import AtRestWire

/// The identity service's state and every change to it, serialized by the
/// actor; each change is persisted (sealed, atomic) before it is visible.
///
/// Slow work (PBKDF2, signing) happens outside: callers take a snapshot
/// (`principal`, `issuer`), do the work, and come back only to change state.
actor IdentityDirectory {
    private var state: IdentityState
    private var ring: SigningKeyRing
    private let file: SealedStateFile
    private let config: IdentityConfiguration
    private let rootKey: SecretBytes

    /// Opens the state under `config.dataDirectory`, creating it at first start.
    init(config: IdentityConfiguration) throws {
        try LocalFile.makeDirectory(config.dataDirectory)
        try FileAccess.requirePrivateTree(config.dataDirectory, what: "identity data directory")
        let stateExists = LocalFile.exists(config.statePath)
        let rootKey = try IdentityRootKey.resolve(config: config, stateExists: stateExists)
        let file = SealedStateFile(path: config.statePath, rootKey: rootKey)
        let now = config.now()
        var state: IdentityState
        let ring: SigningKeyRing
        if let loaded = try file.load() {
            state = loaded
            guard state.version == IdentityState.currentVersion else {
                throw IdentityError("'\(config.statePath)' has state version \(state.version); this build reads version \(IdentityState.currentVersion)")
            }
            state.signingKeys.removeAll { ($0.publishedUntil ?? .max) <= now }
            ring = try SigningKeyRing(records: state.signingKeys, activeKid: state.activeKid, rootKey: rootKey)
        } else {
            state = IdentityState()
            state.tenants[IdentityState.systemTenant] = TenantRecord(id: IdentityState.systemTenant, displayName: "AtRest services", createdAt: now)
            let (record, key) = try SigningKeyRing.makeKey(now: now, rootKey: rootKey)
            state.signingKeys = [record]
            state.activeKid = record.kid
            ring = SigningKeyRing(first: record, key: key)
        }
        try Bootstrap.ensurePrincipals(in: &state, config: config, now: now)
        try file.save(state)
        self.state = state
        self.ring = ring
        self.file = file
        self.config = config
        self.rootKey = rootKey
    }

    // MARK: Reads

    func issuer() -> TokenIssuer {
        TokenIssuer(kid: ring.activeKid, key: ring.activeKey, issuer: config.issuer, audience: config.audience,
                    lifetimeSeconds: config.tokenLifetimeSeconds)
    }

    /// The published keys: the active one and retired ones whose tokens may still be valid.
    func keySet() -> IdentityKeySet {
        let now = config.now()
        let keys = state.signingKeys
            .filter { ($0.publishedUntil ?? .max) > now }
            .map { IdentitySigningKey(kid: $0.kid, x: $0.x, publishedUntilUnix: $0.publishedUntil ?? 0) }
        return IdentityKeySet(keys: keys, issuer: config.issuer, activeKid: state.activeKid)
    }

    /// A login candidate by tenant (empty: system) and name or id; nil when unknown.
    func loginCandidate(tenant: String, clientID: String) -> PrincipalRecord? {
        let tenant = tenant.isEmpty ? IdentityState.systemTenant : tenant
        guard let principal = state.principal(tenant: tenant, name: clientID), principal.tenant == tenant else { return nil }
        return principal
    }

    func principal(id: String) -> PrincipalRecord? { state.principals[id] }

    /// The principal named by id, or by tenant + name; NOT_FOUND otherwise.
    func resolve(id: String, tenant: String, name: String) throws(RPCStatus) -> PrincipalRecord {
        if !id.isEmpty {
            guard let found = state.principals[id] else { throw RPCStatus(.notFound, "no principal with id '\(id.prefix(64))'") }
            return found
        }
        let tenant = tenant.isEmpty ? IdentityState.systemTenant : tenant
        guard let found = state.principals.values.first(where: { $0.tenant == tenant && $0.name == name }) else {
            throw RPCStatus(.notFound, "no principal '\(name.prefix(128))' in tenant '\(tenant.prefix(128))'")
        }
        return found
    }

    func managedIdentity(account: String) throws(RPCStatus) -> PrincipalRecord {
        guard let id = state.accounts[account], let record = state.principals[id] else {
            throw RPCStatus(.notFound, "account '\(account.prefix(128))' has no managed identity; create it with CreateManagedIdentity")
        }
        return record
    }

    /// Tenants (sorted by id) and principals (sorted by tenant, then name) for the List methods.
    func tenants() -> [TenantRecord] { state.tenants.values.sorted { $0.id < $1.id } }
    func principals() -> [PrincipalRecord] { state.principals.values.sorted { ($0.tenant, $0.name) < ($1.tenant, $1.name) } }

    // MARK: Changes

    func createTenant(id: String, displayName: String) throws -> TenantRecord {
        try Validate.name(id, what: "tenant")
        guard state.tenants[id] == nil else { throw RPCStatus(.alreadyExists, "tenant '\(id)' already exists") }
        let record = TenantRecord(id: id, displayName: displayName, createdAt: config.now())
        try change { $0.tenants[id] = record }
        return record
    }

    /// Creates a user or service principal with an already computed secret hash.
    func createPrincipal(kind: PrincipalKind, tenant: String, name: String, secretHash: String, roles: [Role]) throws -> PrincipalRecord {
        try Validate.name(name, what: "principal name")
        guard state.tenants[tenant] != nil else {
            throw RPCStatus(.notFound, "tenant '\(tenant.prefix(128))' does not exist; create it first with CreateTenant")
        }
        guard state.principal(tenant: tenant, name: name)?.tenant != tenant else {
            throw RPCStatus(.alreadyExists, "principal '\(name)' already exists in tenant '\(tenant)'")
        }
        let record = PrincipalRecord(id: try Self.newID(kind), kind: kind, tenant: tenant, name: name,
                                     secretHash: secretHash, roles: roles, accountID: nil, createdAt: config.now())
        try change { $0.principals[record.id] = record }
        return record
    }

    func grant(_ role: Role, to id: String) throws -> PrincipalRecord {
        guard var record = state.principals[id] else { throw RPCStatus(.notFound, "no principal with id '\(id.prefix(64))'") }
        if !record.roles.contains(role) {
            record.roles.append(role)
            // Refused here rather than at every later login: a token the services would not accept.
            _ = try issuer().issue(for: record, now: config.now())
            try change { $0.principals[id] = record }
        }
        return record
    }

    func revoke(_ role: Role, from id: String) throws -> PrincipalRecord {
        guard var record = state.principals[id] else { throw RPCStatus(.notFound, "no principal with id '\(id.prefix(64))'") }
        guard record.roles.contains(role) else {
            throw RPCStatus(.notFound, "principal '\(record.name)' does not hold role '\(role)'")
        }
        record.roles.removeAll { $0 == role }
        try change { $0.principals[id] = record }
        return record
    }

    /// Creates the account's managed identity in `tenant`; repeating the call with the same tenant returns it.
    func createManagedIdentity(account: String, tenant: String) throws -> PrincipalRecord {
        try Validate.name(account, what: "account id")
        guard state.tenants[tenant] != nil else {
            throw RPCStatus(.notFound, "tenant '\(tenant.prefix(128))' does not exist; create it first with CreateTenant")
        }
        if let existing = state.accounts[account].flatMap({ state.principals[$0] }) {
            guard existing.tenant == tenant else {
                throw RPCStatus(.alreadyExists, "account '\(account)' already has a managed identity in tenant '\(existing.tenant)'; use MoveAccount to change its tenant")
            }
            return existing
        }
        let record = PrincipalRecord(id: try Self.newID(.managedIdentity), kind: .managedIdentity, tenant: tenant,
                                     name: "account-\(account)", secretHash: nil, roles: [], accountID: account,
                                     createdAt: config.now())
        try change {
            $0.principals[record.id] = record
            $0.accounts[account] = record.id
        }
        return record
    }

    /// Moves the account (and so its managed identity) to `newTenant`; returns the identity and the old tenant.
    func moveAccount(_ account: String, to newTenant: String) throws -> (PrincipalRecord, String) {
        var record = try managedIdentity(account: account)
        guard state.tenants[newTenant] != nil else {
            throw RPCStatus(.notFound, "tenant '\(newTenant.prefix(128))' does not exist; create it first with CreateTenant")
        }
        let previous = record.tenant
        guard previous != newTenant else {
            throw RPCStatus(.failedPrecondition, "account '\(account)' is already in tenant '\(newTenant)'")
        }
        record.tenant = newTenant
        try change { $0.principals[record.id] = record }
        return (record, previous)
    }

    /// Makes a new active key; the old one keeps being published until its last token expires.
    func rotate() throws -> IdentityRotation {
        let now = config.now()
        let (record, key) = try SigningKeyRing.makeKey(now: now, rootKey: rootKey)
        let oldKid = state.activeKid
        let until = now + config.tokenLifetimeSeconds + config.clockSkewSeconds
        let expired = state.signingKeys.filter { ($0.publishedUntil ?? .max) <= now }.map(\.kid)
        try change { state in
            state.signingKeys.removeAll { expired.contains($0.kid) }
            if let index = state.signingKeys.firstIndex(where: { $0.kid == oldKid }) {
                state.signingKeys[index].retiredAt = now
                state.signingKeys[index].publishedUntil = until
            }
            state.signingKeys.append(record)
            state.activeKid = record.kid
        }
        ring.add(record, key, activate: true)
        for kid in expired { ring.remove(kid: kid) }
        return IdentityRotation(activeKid: record.kid, retiredKid: oldKid, retiredPublishedUntilUnix: until)
    }

    /// Applies `body` to a copy, persists it, then makes it current: a failed write changes nothing.
    private func change(_ body: (inout IdentityState) throws -> Void) throws {
        var next = state
        try body(&next)
        do {
            try file.save(next)
        } catch {
            throw RPCStatus(.unavailable, "identity state could not be saved: \(error)")
        }
        state = next
    }

    static func newID(_ kind: PrincipalKind) throws -> String {
        let prefix = switch kind {
        case .user: "usr_"
        case .service: "svc_"
        case .managedIdentity: "mi_"
        }
        return prefix + Hex.encode(try SecureRandom.bytes(10))
    }
}

enum Validate {
    static func name(_ value: String, what: String) throws(RPCStatus) {
        guard Names.isValid(value) else {
            throw RPCStatus(.invalidArgument, "\(what) '\(value.prefix(128))' is not valid: use \(Names.rule)")
        }
    }
}
