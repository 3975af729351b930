import AtRestCrypto
import AtRestWire

/// Key management: administrators (the configured admin role); services
/// (the service role) only create keys in the service provider and grant
/// access on the keys they created.
extension KeyVault {
    /// Creates a key named `spec.keyID` in `tenant` (empty: the caller's);
    /// the key's id is the name qualified with the tenant (`KeyNamespace`).
    public func createKey(provider name: String, _ spec: KeySpec, tenant: String = "", caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try creating(KeyVaultMethod.createKey.verb, provider: name, spec, tenant: tenant, caller, callID) { spec throws(VaultError) in
            let asService = try requireAdminOrService(caller, provider: name, for: "create keys")
            let info = try provider(name).create(spec, material: nil)
            if asService { try policy.setCreator(caller.principalID, of: info.ref) }
            return info
        }
    }

    /// Imports a customer key sealed with `ImportEnvelope.seal` to `importPublicKey`
    /// (the envelope names the key as the customer does: the plain name).
    public func importKey(provider name: String, _ spec: KeySpec, tenant: String = "", envelope: [UInt8], caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try creating(KeyVaultMethod.importKey.verb, provider: name, spec, tenant: tenant, caller, callID) { qualified throws(VaultError) in
            try requireRole(caller, [config.adminRole], for: "import keys")
            let material = try ImportEnvelope.open(envelope, keyID: spec.keyID, privateKey: importPrivateKey)
            return try provider(name).create(qualified, material: material)
        }
    }

    /// Creation, audited under the id the key gets (also when refused): the
    /// name qualified with the tenant it is created in (`creationTenant`).
    private func creating(
        _ operation: String, provider: String, _ spec: KeySpec, tenant: String, _ caller: VaultCaller, _ callID: [UInt8],
        _ body: (KeySpec) throws(VaultError) -> KeyInfo
    ) throws(VaultError) -> KeyInfo {
        let target = KeyNamespace.split(spec.keyID) == nil ? namespace.qualify(spec.keyID, tenant: tenant.isEmpty ? caller.tenantID : tenant) : spec.keyID
        return try audited(operation, KeyRef(provider: provider, keyID: target), caller, callID, anchor: true, version: { $0.currentVersion }) { () throws(VaultError) in
            var qualified = spec
            qualified.keyID = try newKeyID(spec.keyID, tenant: try creationTenant(tenant, provider: provider, caller: caller))
            let info = try body(qualified)
            emit(.created, info.ref, actor: caller)
            return info
        }
    }

    /// Administrators and auditors see any key of their tenant; other callers only keys they hold a grant on.
    public func getKey(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try auditedKey(KeyVaultMethod.getKey.verb, key, caller, callID, version: { $0.currentVersion }) { key throws(VaultError) in
            if !policy.hasAnyGrant(caller.principalID, on: key) {
                try requireAdministration(caller, key, [config.adminRole, config.auditorRole], for: "read key \(key)")
            }
            return try describe(try provider(key.provider).info(key.keyID))
        }
    }

    public func listKeys(provider name: String = "", caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> [KeyInfo] {
        try audited(KeyVaultMethod.listKeys.verb, KeyRef(provider: name, keyID: ""), caller, callID) { () throws(VaultError) in
            try requireRole(caller, [config.adminRole, config.auditorRole], for: "list keys")
            let names = name.isEmpty ? providers.keys.sorted() : [name]
            var all: [KeyInfo] = []
            for provider in names {
                let loaded = try self.provider(provider)
                if loaded.unavailableReason != nil, name.isEmpty { continue }
                let visible = try loaded.list().filter { isSystemAdministrator(caller) || owns(caller.tenantID, $0.ref) }
                all += try visible.map(describe)
            }
            return all
        }
    }

    /// Adds a version; with an envelope (BYOK) the new version is the customer's material.
    public func rotateKey(_ key: KeyRef, envelope: [UInt8] = [], caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try auditedKey(KeyVaultMethod.rotateKey.verb, key, caller, callID, anchor: true, version: { $0.currentVersion }) { key throws(VaultError) in
            try requireAdministration(caller, key, [config.adminRole], for: "rotate keys")
            try requireNotServiceManaged(caller, key, "rotated")
            let material = envelope.isEmpty ? nil : try ImportEnvelope.open(envelope, keyID: KeyNamespace.name(of: key.keyID), privateKey: importPrivateKey)
            let info = try provider(key.provider).rotate(key.keyID, material: material)
            emit(.rotated, info.ref, actor: caller)
            return try describe(info)
        }
    }

    public func setEnabled(_ key: KeyRef, _ enabled: Bool, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try change(enabled ? KeyVaultMethod.enableKey.verb : KeyVaultMethod.disableKey.verb, key, enabled ? .enabled : .disabled, caller, callID) { p, key throws(VaultError) in
            try p.setEnabled(key.keyID, enabled)
        }
    }

    /// Soft delete: recoverable until purged.
    public func deleteKey(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try change(KeyVaultMethod.deleteKey.verb, key, .deleted, caller, callID) { p, key throws(VaultError) in try p.delete(key.keyID) }
    }

    public func recoverKey(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try change(KeyVaultMethod.recoverKey.verb, key, .recovered, caller, callID) { p, key throws(VaultError) in try p.recover(key.keyID) }
    }

    /// An audited, admin-only state change of one key that publishes `event`.
    private func change(
        _ operation: String, _ key: KeyRef, _ event: KeyEvent.Kind, _ caller: VaultCaller, _ callID: [UInt8],
        _ body: (LoadedProvider, KeyRef) throws(VaultError) -> KeyInfo
    ) throws(VaultError) -> KeyInfo {
        try auditedKey(operation, key, caller, callID, anchor: true, version: { $0.currentVersion }) { key throws(VaultError) in
            let verb = operation.dropLast(3).lowercased()
            // A managed key's creator (the front door) deletes it when it purges the account.
            if operation != KeyVaultMethod.deleteKey.verb || policy.creator(of: key) != caller.principalID {
                try requireAdministration(caller, key, [config.adminRole], for: "\(verb) keys")
            }
            try requireNotServiceManaged(caller, key, verb == "disable" || verb == "enable" ? verb + "d" : verb + "ed")
            let info = try body(try provider(key.provider), key)
            emit(event, info.ref, actor: caller)
            return try describe(info)
        }
    }

    /// Destroys a deleted key for good. Refused while stored data references
    /// any of its versions, and (purge protection) before the retention ends.
    public func purgeKey(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) {
        try auditedKey(KeyVaultMethod.purgeKey.verb, key, caller, callID, anchor: true) { key throws(VaultError) in
            try requireAdministration(caller, key, [config.adminRole], for: "purge keys")
            try requireNotServiceManaged(caller, key, "purged")
            let references = policy.references(of: key).filter { $0.value > 0 }
            if !references.isEmpty {
                let total = references.values.reduce(0, +)
                let versions = references.sorted { $0.key < $1.key }.map { "version \($0.key): \($0.value)" }.joined(separator: ", ")
                throw VaultError(.stillReferenced, "key \(key) is still referenced by \(total) wrapped account keys (\(versions)); re-wrap or delete those accounts first")
            }
            try provider(key.provider).purge(key.keyID)
            try policy.forget(key)
            emit(.purged, key, actor: caller)
        }
    }

    public func grantAccess(_ grant: AccessGrant, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> [AccessGrant] {
        try changeAccess(grant, add: true, caller: caller, callID: callID)
    }

    /// Removes the grant's operations (all of them when the set is empty).
    public func revokeAccess(_ grant: AccessGrant, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> [AccessGrant] {
        try changeAccess(grant, add: false, caller: caller, callID: callID)
    }

    /// Passes administrators (false) and service principals acting in the
    /// service provider (true); refuses everyone else.
    private func requireAdminOrService(_ caller: VaultCaller, provider: String, for action: String) throws(VaultError) -> Bool {
        if caller.roles.contains(config.adminRole) { return false }
        if caller.roles.contains(config.serviceRole), provider == config.serviceProvider { return true }
        if caller.roles.contains(config.serviceRole) {
            throw VaultError(.permissionDenied, "\(caller) (a service) may \(action) only in provider '\(config.serviceProvider)'")
        }
        try requireRole(caller, [config.adminRole], for: action)
        return false
    }

    private func changeAccess(_ grant: AccessGrant, add: Bool, caller: VaultCaller, callID: [UInt8]) throws(VaultError) -> [AccessGrant] {
        let operations = grant.operations.map(\.rawValue).sorted().joined(separator: ",")
        return try auditedKey(add ? KeyVaultMethod.grantAccess.verb : KeyVaultMethod.revokeAccess.verb, grant.key.unversioned, caller, callID, anchor: true) { key throws(VaultError) in
            var grant = grant
            grant.key = key
            let asService = try requireAdminOrService(caller, provider: key.provider, for: add ? "grant key access" : "revoke key access")
            if asService, policy.creator(of: key) != caller.principalID {
                throw VaultError(.permissionDenied, "\(caller) may change access only on keys it created; \(key) was not")
            }
            if !asService {
                try requireAdministration(caller, key, [config.adminRole], for: add ? "grant key access" : "revoke key access")
                try requireNotServiceManaged(caller, key, add ? "granted" : "revoked")
            }
            guard !grant.principalID.isEmpty else { throw VaultError(.invalidArgument, "a grant needs a principal id (or an account)") }
            if add, grant.operations.isEmpty { throw VaultError(.invalidArgument, "a grant needs at least one operation (wrap, unwrap)") }
            // A tenant administrator grants to accounts of its own tenant; only
            // the system administrator grants across (e.g. the repair after a move).
            // A grant naming a principal by id alone is bound to the key's tenant
            // (the caller's): a principal of another tenant cannot use it, whatever
            // tenant the request claimed. (A grant naming an account was resolved
            // by the service: its tenant is the account's, checked below.)
            if !asService, !isSystemAdministrator(caller), grant.accountID.isEmpty {
                grant.tenant = caller.tenantID
            }
            if !grant.tenant.isEmpty, !owns(grant.tenant, key), !isSystemAdministrator(caller) {
                throw VaultError(.notFound, "no account '\(grant.accountID.isEmpty ? grant.principalID : grant.accountID)' in the tenant of key \(key)")
            }
            _ = try provider(key.provider).info(key.keyID)
            if !add, !policy.hasAnyGrant(grant.principalID, on: key) {
                throw VaultError(.notFound, "principal '\(grant.principalID)' has no grant on key \(key) to revoke")
            }
            let grants = try policy.change(grant, add: add)
            emit(add ? .accessGranted : .accessRevoked, key, principal: "\(grant.principalID):\(operations)", actor: caller)
            return grants
        }
    }

    /// Who may use `key`: its grants (administrators and auditors of the
    /// key's tenant, and the service that created it).
    public func listGrants(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> [AccessGrant] {
        try auditedKey(KeyVaultMethod.listGrants.verb, key.unversioned, caller, callID) { key throws(VaultError) in
            if !(isService(caller) && policy.creator(of: key) == caller.principalID) {
                try requireAdministration(caller, key, [config.adminRole, config.auditorRole], for: "list the grants of key \(key)")
            }
            _ = try provider(key.provider).info(key.keyID)
            return policy.grants(on: key)
        }
    }

    /// Rotates every key whose rotation period has passed (the managed
    /// provider's automatic rotation). Returns the rotated keys. The service
    /// runs this on a timer; wrap also rotates a due key first.
    @discardableResult
    public func applyRotationPolicy() -> [KeyInfo] {
        var rotated: [KeyInfo] = []
        for provider in providers.values where provider.unavailableReason == nil {
            for info in (try? provider.list()) ?? [] where info.state == .enabled {
                if let next = info.nextRotation(daySeconds: config.rotationDaySeconds), config.clock() >= next,
                   let done = try? rotateKey(info.ref.unversioned, caller: .system) {
                    rotated.append(done)
                }
            }
        }
        return rotated
    }

    func describe(_ info: KeyInfo) throws(VaultError) -> KeyInfo {
        var info = info
        info.references = policy.references(of: info.ref)
        return info
    }
}
