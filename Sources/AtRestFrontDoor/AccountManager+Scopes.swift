import AtRestCrypto
import AtRestWire

/// Encryption scopes: named key choices inside an account, each with an
/// account key of its own (an entry of `AccountRecord.keys` named by the
/// scope, numbered by `allocateAccountKeyVersion`). The vault generates the
/// scope key wrapped by the chosen KEK (the account's managed key, or a
/// customer key its managed identity may wrap and unwrap with); the front
/// door never holds it in clear. Only entries with a scope are touched here.
extension AccountManager {
    public func createScope(_ request: AccountScopeCreateRequest) async throws -> EncryptionScope {
        let name = request.scope
        guard EncryptionScope.isValidName(name) else {
            throw RPCStatus(.invalidArgument, "invalid scope name '\(name.prefix(80))': \(EncryptionScope.nameRule)")
        }
        guard let record = try await registry.lookup(request.accountID) else {
            throw RPCStatus(.notFound, "account '\(request.accountID)' does not exist")
        }
        guard record.scope(name) == nil else {
            throw RPCStatus(.alreadyExists, "scope '\(name)' already exists in account '\(request.accountID)'")
        }
        let kek = try scopeKEK(request, record: record)
        let accountID = record.info.accountID
        let wrapped: WrapResponse
        do {
            let vault = try await identityVaultClient(account: accountID)
            let context = AccountWrapContext.bytes(account: accountID)
            let status = try await vault.keyStatus(kek)
            guard status.wrapAllowed, status.unwrapAllowed else {
                throw RPCStatus(status.state == "enabled" ? .permissionDenied : .failedPrecondition, status.reason)
            }
            let generated = try await vault.generateWrappedKey(with: kek, context: context)
            // The round trip proves the new wrapping unwraps before anything is kept.
            wrapped = try await vault.rewrap(generated.wrapped, context: context, to: generated.key.unversioned)
            try await register(wrapped.key)
        } catch let status as RPCStatus where status.code == .permissionDenied {
            throw RPCStatus(.permissionDenied,
                            "scope '\(name)' cannot use key \(kek): the managed identity '\(record.info.managedIdentity)' of account '\(accountID)' needs both 'wrap' and 'unwrap' grants on that key (`atrest key grant \(kek.provider)/\(kek.keyID) --account \(accountID) --operations wrap,unwrap`). Vault said: \(status.message)",
                            details: status.details.merging(["reason": "missingGrant"]) { $1 })
        }
        let now = now()
        let updated: AccountRecord?
        do {
            updated = try await registry.update(accountID) { current in
                guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
                guard current.scope(name) == nil else {
                    throw RPCStatus(.alreadyExists, "scope '\(name)' already exists in account '\(accountID)'")
                }
                let version = current.allocateAccountKeyVersion()
                current.keys.append(AccountKeyEntry(accountKeyVersion: version, wrappedKey: wrapped.wrapped, provider: wrapped.key.provider,
                                                    keyID: wrapped.key.keyID, keyVersion: wrapped.key.version, scope: name))
                current.scopes.append(EncryptionScope(name: name, keySource: request.keySource, provider: wrapped.key.provider,
                                                      keyID: wrapped.key.keyID, createdAtUnix: now, accountKeyVersion: version,
                                                      keyVersion: wrapped.key.version))
                return current
            }
        } catch {
            await unregister(wrapped.key)
            throw error
        }
        guard let scope = updated?.scope(name) else { throw RPCStatus(.internal, "scope '\(name)' was not stored") }
        logger.info("encryption scope created", metadata: ["account": "\(accountID)", "scope": "\(name)", "key": "\(wrapped.key)",
                                                           "accountKeyVersion": "\(scope.accountKeyVersion)"])
        return scope
    }

    /// The KEK a new scope's key is wrapped by.
    private func scopeKEK(_ request: AccountScopeCreateRequest, record: AccountRecord) throws(RPCStatus) -> KeyRef {
        switch request.keySource {
        case AccountEncryption.managed:
            return KeyRef(provider: Self.managedProvider, keyID: record.managedKeyID)
        case AccountEncryption.customer:
            let provider = request.provider.isEmpty ? AccountEncryption.customer : request.provider
            guard !request.keyID.isEmpty, provider != Self.managedProvider else {
                throw RPCStatus(.invalidArgument, "a customer scope needs a customer key (--key K; provider other than 'managed')")
            }
            return KeyRef(provider: provider, keyID: request.keyID)
        default:
            throw RPCStatus(.invalidArgument, "unknown key source '\(request.keySource)': use 'managed' or 'customer'")
        }
    }

    /// Disables or enables a scope: its key entry's `disabled` flag (what
    /// workers see on the next call) and the scope's state.
    public func setScopeEnabled(_ request: AccountScopeRequest, _ enabled: Bool) async throws -> EncryptionScope {
        let name = request.scope
        let updated = try await registry.update(request.accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(request.accountID)' does not exist") }
            guard let index = current.scopes.firstIndex(where: { $0.name == name }) else {
                throw RPCStatus(.notFound, "scope '\(name)' does not exist in account '\(request.accountID)'")
            }
            current.scopes[index].state = enabled ? EncryptionScope.enabled : EncryptionScope.disabled
            for i in current.keys.indices where current.keys[i].scope == name { current.keys[i].disabled = !enabled }
            return current
        }
        guard let scope = updated?.scope(name) else { throw RPCStatus(.notFound, "scope '\(name)' does not exist") }
        logger.info(enabled ? "encryption scope enabled" : "encryption scope disabled",
                    metadata: ["account": "\(request.accountID)", "scope": "\(name)"])
        return scope
    }

    /// Re-wraps every scope key wrapped by an older version of `key` (after a
    /// KEK rotation) to its current version; the account's own chain is
    /// `rewrapAccounts`'s.
    public func rewrapScopes(using key: KeyRef) async {
        let records: [AccountRecord]
        do { records = try await registry.all() } catch {
            logger.warning("scope re-wrap after rotation could not list the accounts", metadata: ["error": "\(error)"])
            return
        }
        for record in records {
            for entry in record.keys where !entry.scope.isEmpty && entry.provider == key.provider && entry.keyID == key.keyID {
                if key.version != 0, entry.keyVersion >= key.version { continue }
                do {
                    try await rewrapScope(record.info.accountID, entry, to: key.unversioned)
                } catch {
                    logger.warning("scope re-wrap after rotation failed",
                                   metadata: ["account": "\(record.info.accountID)", "scope": "\(entry.scope)", "error": "\(error)"])
                }
            }
        }
    }

    private func rewrapScope(_ accountID: String, _ entry: AccountKeyEntry, to target: KeyRef) async throws {
        let wrapped = try await identityVaultClient(account: accountID)
            .rewrap(entry.wrappedKey, context: AccountWrapContext.bytes(account: accountID), to: target)
        try await register(wrapped.key)
        _ = try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
            guard let i = current.keys.firstIndex(where: { $0.accountKeyVersion == entry.accountKeyVersion && $0.scope == entry.scope }) else {
                return current
            }
            current.keys[i].wrappedKey = wrapped.wrapped
            current.keys[i].keyVersion = wrapped.key.version
            if let s = current.scopes.firstIndex(where: { $0.name == entry.scope }) { current.scopes[s].keyVersion = wrapped.key.version }
            return current
        }
        await unregister(KeyRef(provider: entry.provider, keyID: entry.keyID, version: entry.keyVersion))
        logger.info("scope key re-wrapped", metadata: ["account": "\(accountID)", "scope": "\(entry.scope)", "key": "\(wrapped.key)"])
    }
}

extension AccountRecord {
    /// The scope named `name`, its key version from its key entry.
    func scope(_ name: String) -> EncryptionScope? {
        guard var scope = scopes.first(where: { $0.name == name }) else { return nil }
        if let entry = keys.first(where: { $0.scope == name }) { scope.keyVersion = entry.keyVersion }
        return scope
    }
}
