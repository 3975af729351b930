import AtRestWire

/// Tenant isolation: every key belongs to the tenant whose tag its id carries
/// (`KeyNamespace`). A caller reaches a key of its own tenant, a key it holds
/// a grant on (so a moved account's identity gets the explicit repair error,
/// not a silent NOT_FOUND) or, for a service principal, a key it created;
/// the system administrator reaches every key, and such calls are audited as
/// crossing tenants. Any other key answers NOT_FOUND, exactly as a key that
/// does not exist, so its existence does not leak.
extension KeyVault {
    /// A caller with the admin role in the system tenant.
    func isSystemAdministrator(_ caller: VaultCaller) -> Bool {
        caller.tenantID == config.systemTenant && caller.roles.contains(config.adminRole)
    }

    func isService(_ caller: VaultCaller) -> Bool { caller.roles.contains(config.serviceRole) }

    /// `ref` with its key id qualified by the caller's tenant when it is a plain name.
    func qualified(_ ref: KeyRef, for caller: VaultCaller) -> KeyRef {
        guard KeyNamespace.split(ref.keyID) == nil, !ref.keyID.isEmpty else { return ref }
        var key = ref
        key.keyID = namespace.qualify(ref.keyID, tenant: caller.tenantID)
        return key
    }

    /// Does `key` (qualified) belong to `tenant`?
    func owns(_ tenant: String, _ key: KeyRef) -> Bool {
        KeyNamespace.split(key.keyID)?.tag == Substring(namespace.tag(tenant))
    }

    /// Throws NOT_FOUND unless `caller` may reach `key` (qualified) at all.
    func requireReach(_ caller: VaultCaller, _ key: KeyRef) throws(VaultError) {
        try requireCurrentTenant(caller)
        if caller == .system || owns(caller.tenantID, key) || isSystemAdministrator(caller) { return }
        if policy.hasAnyGrant(caller.principalID, on: key) { return }
        if isService(caller), policy.creator(of: key) == caller.principalID { return }
        throw Self.notFound(key)
    }

    /// The administrator and auditor roles count only on the caller's own
    /// tenant's keys (or for the system administrator): a grant on another
    /// tenant's key lets a principal *use* that key (reach), never manage it.
    /// Another tenant's key answers NOT_FOUND, as in `requireReach`.
    func requireAdministration(_ caller: VaultCaller, _ key: KeyRef, _ roles: [String], for action: String) throws(VaultError) {
        if caller == .system { return }  // the vault's own rotation policy
        guard owns(caller.tenantID, key) || isSystemAdministrator(caller) else { throw Self.notFound(key) }
        try requireRole(caller, roles, for: action)
    }

    /// A managed identity whose account moved answers with its new tenant
    /// only: a token issued before the move names the old one and is refused
    /// (UNAUTHENTICATED, `staleToken`), so the old tenant's grants stop
    /// applying at once instead of when the token expires.
    func requireCurrentTenant(_ caller: VaultCaller) throws(VaultError) {
        guard let tenant = policy.movedTenant(of: caller.principalID), tenant != caller.tenantID else { return }
        throw VaultError(.staleToken, "the token of \(caller) predates its account's move to another tenant; fetch a new token")
    }

    /// Records that an account (and its managed identity) moved to `move.tenant`:
    /// the identity's older tokens stop working, and an `accessRevoked` event
    /// per key it holds grants on makes workers drop the account keys those
    /// unlocked. Only services call this (the front door's `Account/Move`).
    public func accountMoved(_ move: VaultIdentityTenant, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) {
        try audited(KeyVaultMethod.accountMoved.verb, KeyRef(provider: "", keyID: ""), caller, callID, anchor: true) { () throws(VaultError) in
            try requireRole(caller, [config.serviceRole], for: "record account moves (only AtRest's front door does)")
            guard !move.principalID.isEmpty, !move.tenant.isEmpty else {
                throw VaultError(.invalidArgument, "an account move names the managed identity and its new tenant")
            }
            for key in try policy.recordMove(move) {
                emit(.accessRevoked, key, principal: move.principalID + ":moved", actor: caller)
            }
        }
    }

    /// The answer for a key the caller may not know of: the words of the
    /// bundled providers (KeyProviderKit) for a key that does not exist.
    static func notFound(_ key: KeyRef) -> VaultError {
        VaultError(.notFound, "\(key.provider): key '\(key.keyID)' not found in provider '\(key.provider)'")
    }

    /// Service-managed keys (created by a service principal for an account)
    /// are the service's to manage: a tenant administrator may read their
    /// state and audit entries, nothing more.
    func requireNotServiceManaged(_ caller: VaultCaller, _ key: KeyRef, _ action: String) throws(VaultError) {
        guard let creator = policy.creator(of: key), creator != caller.principalID,
              caller != .system, !isSystemAdministrator(caller) else { return }
        throw VaultError(.permissionDenied, "key \(key.unversioned) is managed by the service for its account and cannot be \(action) by a tenant administrator (the service rotates it on schedule); to control the key yourself, switch the account to a customer key")
    }

    /// Runs a key operation on the key `ref` names, qualified and reach-checked,
    /// audited whatever the outcome (see `audited`). A system administrator's
    /// call on another tenant's key is audited as crossing tenants.
    func auditedKey<R>(
        _ operation: String, _ ref: KeyRef, _ caller: VaultCaller, _ callID: [UInt8], anchor: Bool = false,
        version: (R) -> UInt32 = { _ in 0 }, _ body: (KeyRef) throws(VaultError) -> R
    ) throws(VaultError) -> R {
        let key = qualified(ref, for: caller)
        let crossing = isSystemAdministrator(caller) && !owns(caller.tenantID, key) ? Self.crossTenantDetail : ""
        return try audited(operation, key, caller, callID, anchor: anchor, detail: crossing, version: version) { () throws(VaultError) in
            try requireReach(caller, key)
            return try body(key)
        }
    }

    static let crossTenantDetail = "by the system administrator, across tenants"

    /// The tenant a new key is created in: the caller's, or (for a service in
    /// the service provider, or the system administrator) the one named.
    func creationTenant(_ requested: String, provider: String, caller: VaultCaller) throws(VaultError) -> String {
        guard !requested.isEmpty, requested != caller.tenantID else { return caller.tenantID }
        if isSystemAdministrator(caller) || (isService(caller) && provider == config.serviceProvider) { return requested }
        throw VaultError(.permissionDenied, "\(caller) may create keys only in its own tenant")
    }

    /// The provider key id for a new key named `name` in `tenant`.
    func newKeyID(_ name: String, tenant: String) throws(VaultError) -> String {
        if KeyNamespace.split(name) != nil {
            throw VaultError(.invalidArgument, "key names of the form t<12 hex>.<name> are reserved for qualified key ids; choose another name")
        }
        guard !name.isEmpty, name.utf8.count <= KeyNamespace.maxNameLength else {
            throw VaultError(.invalidArgument, "key names are 1-\(KeyNamespace.maxNameLength) characters of A-Z a-z 0-9 . _ -")
        }
        return namespace.qualify(name, tenant: tenant)
    }
}
