import AtRestCrypto

/// Key management: administrators (the configured admin role); services
/// (the service role) only create keys in the service provider and grant
/// access on the keys they created.
extension KeyVault {
    public func createKey(provider name: String, _ spec: KeySpec, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        let key = KeyRef(provider: name, keyID: spec.keyID)
        return try audited("CreateKey", key, caller, callID, anchor: true, version: { $0.currentVersion }) { () throws(VaultError) in
            let asService = try requireAdminOrService(caller, provider: name, for: "create keys")
            let info = try provider(name).create(spec, material: nil)
            if asService { try policy.setCreator(caller.principalID, of: info.ref) }
            emit(.created, info.ref, actor: caller)
            return info
        }
    }

    /// Imports a customer key sealed with `ImportEnvelope.seal` to `importPublicKey`.
    public func importKey(provider name: String, _ spec: KeySpec, envelope: [UInt8], caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        let key = KeyRef(provider: name, keyID: spec.keyID)
        return try audited("ImportKey", key, caller, callID, anchor: true, version: { $0.currentVersion }) { () throws(VaultError) in
            try requireRole(caller, [config.adminRole], for: "import keys")
            let material = try ImportEnvelope.open(envelope, keyID: spec.keyID, privateKey: importPrivateKey)
            let info = try provider(name).create(spec, material: material)
            emit(.created, info.ref, actor: caller)
            return info
        }
    }

    /// Administrators and auditors see any key; other callers only keys they hold a grant on.
    public func getKey(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try audited("GetKey", key, caller, callID, version: { $0.currentVersion }) { () throws(VaultError) in
            if !policy.hasAnyGrant(caller.principalID, on: key) {
                try requireRole(caller, [config.adminRole, config.auditorRole], for: "read key \(key)")
            }
            return try describe(try provider(key.provider).info(key.keyID))
        }
    }

    public func listKeys(provider name: String = "", caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> [KeyInfo] {
        try audited("ListKeys", KeyRef(provider: name, keyID: ""), caller, callID) { () throws(VaultError) in
            try requireRole(caller, [config.adminRole, config.auditorRole], for: "list keys")
            let names = name.isEmpty ? providers.keys.sorted() : [name]
            var all: [KeyInfo] = []
            for provider in names {
                let loaded = try self.provider(provider)
                if loaded.unavailableReason != nil, name.isEmpty { continue }
                all += try loaded.list().map(describe)
            }
            return all
        }
    }

    /// Adds a version; with an envelope (BYOK) the new version is the customer's material.
    public func rotateKey(_ key: KeyRef, envelope: [UInt8] = [], caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try audited("RotateKey", key, caller, callID, anchor: true, version: { $0.currentVersion }) { () throws(VaultError) in
            if caller != .system { try requireRole(caller, [config.adminRole], for: "rotate keys") }
            let material = envelope.isEmpty ? nil : try ImportEnvelope.open(envelope, keyID: key.keyID, privateKey: importPrivateKey)
            let info = try provider(key.provider).rotate(key.keyID, material: material)
            emit(.rotated, info.ref, actor: caller)
            return try describe(info)
        }
    }

    public func setEnabled(_ key: KeyRef, _ enabled: Bool, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try change(enabled ? "EnableKey" : "DisableKey", key, enabled ? .enabled : .disabled, caller, callID) { p throws(VaultError) in
            try p.setEnabled(key.keyID, enabled)
        }
    }

    /// Soft delete: recoverable until purged.
    public func deleteKey(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try change("DeleteKey", key, .deleted, caller, callID) { p throws(VaultError) in try p.delete(key.keyID) }
    }

    public func recoverKey(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) -> KeyInfo {
        try change("RecoverKey", key, .recovered, caller, callID) { p throws(VaultError) in try p.recover(key.keyID) }
    }

    /// An audited, admin-only state change of one key that publishes `event`.
    private func change(
        _ operation: String, _ key: KeyRef, _ event: KeyEvent.Kind, _ caller: VaultCaller, _ callID: [UInt8],
        _ body: (LoadedProvider) throws(VaultError) -> KeyInfo
    ) throws(VaultError) -> KeyInfo {
        try audited(operation, key, caller, callID, anchor: true, version: { $0.currentVersion }) { () throws(VaultError) in
            try requireRole(caller, [config.adminRole], for: "\(operation.dropLast(3).lowercased()) keys")
            let info = try body(try provider(key.provider))
            emit(event, info.ref, actor: caller)
            return try describe(info)
        }
    }

    /// Destroys a deleted key for good. Refused while stored data references
    /// any of its versions, and (purge protection) before the retention ends.
    public func purgeKey(_ key: KeyRef, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) {
        try audited("PurgeKey", key, caller, callID, anchor: true) { () throws(VaultError) in
            try requireRole(caller, [config.adminRole], for: "purge keys")
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
        return try audited(add ? "GrantAccess" : "RevokeAccess", grant.key, caller, callID, anchor: true) { () throws(VaultError) in
            if add, try requireAdminOrService(caller, provider: grant.key.provider, for: "grant key access"),
               policy.creator(of: grant.key) != caller.principalID {
                throw VaultError(.permissionDenied, "\(caller) may grant access only on keys it created; \(grant.key.unversioned) was not")
            }
            if !add { try requireRole(caller, [config.adminRole], for: "revoke key access") }
            guard !grant.principalID.isEmpty else { throw VaultError(.invalidArgument, "a grant needs a principal id") }
            if add, grant.operations.isEmpty { throw VaultError(.invalidArgument, "a grant needs at least one operation (wrap, unwrap)") }
            _ = try provider(grant.key.provider).info(grant.key.keyID)
            let grants = try policy.change(grant, add: add)
            emit(add ? .accessGranted : .accessRevoked, grant.key, principal: "\(grant.principalID):\(operations)", actor: caller)
            return grants
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
                if let next = info.nextRotation, config.clock() >= next,
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
