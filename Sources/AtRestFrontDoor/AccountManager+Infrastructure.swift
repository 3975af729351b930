import AtRestWire

/// Infrastructure (double) encryption (issue 20): a second account key from a
/// key chain of its own. At creation the account gets a second managed-provider
/// key in the vault (another key id, wrap/unwrap granted to the account's
/// managed identity only, never a customer key and never changed by
/// SetEncryption), the vault generates AEK_infra wrapped by it, and the record
/// keeps it as a `keys` entry with `infrastructure = true` and a number of its
/// own. Workers unwrap it like the current key and seal every object twice.
extension AccountManager {
    /// A new infrastructure key chain for `account`: its managed key and AEK_infra, wrapped, registered.
    func newInfrastructureKey(tenant: String, identity: String, account: String) async throws -> WrapResponse {
        let kek = try await newManagedKey(tenant: tenant, identity: identity)
        let wrapped = try await generateWrappedKey(with: kek, account: account)
        try await register(wrapped.key)
        return wrapped
    }

    /// Step 3 of a move for the infrastructure layer: AEK_infra is re-wrapped
    /// to a new managed key of `tenant` (grants of the old tenant stop
    /// applying), and the identity's grant on the old one is revoked.
    func moveInfrastructureKey(_ accountID: String, to tenant: String) async throws {
        guard let record = try await registry.lookup(accountID), let entry = record.infrastructureKey else { return }
        let kek = try await newManagedKey(tenant: tenant, identity: record.info.managedIdentity)
        try await rewrapInfrastructureKey(accountID, entry, to: kek)
        let old = KeyRef(provider: entry.provider, keyID: entry.keyID)
        do {
            _ = try await serviceVaultClient().revokeAccess(AccessGrant(key: old, principalID: record.info.managedIdentity, operations: []))
        } catch {
            logger.notice("could not revoke the moved account's grant on its old infrastructure key", metadata: ["key": "\(old)", "error": "\(error)"])
        }
    }

    /// Re-wraps the infrastructure key `entry` of `accountID` to `target`'s
    /// current version (a second Rewrap proves the new wrapping unwraps) and records it.
    func rewrapInfrastructureKey(_ accountID: String, _ entry: AccountKeyEntry, to target: KeyRef) async throws {
        let vault = try await identityVaultClient(account: accountID)
        let context = AccountWrapContext.bytes(account: accountID)
        let first = try await vault.rewrap(entry.wrappedKey, context: context, to: target.unversioned)
        let wrapped = try await vault.rewrap(first.wrapped, context: context, to: first.key.unversioned)
        try await register(wrapped.key)
        try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
            guard let at = current.keys.firstIndex(where: { $0.accountKeyVersion == entry.accountKeyVersion }) else { return current }
            current.keys[at].wrappedKey = wrapped.wrapped
            current.keys[at].provider = wrapped.key.provider
            current.keys[at].keyID = wrapped.key.keyID
            current.keys[at].keyVersion = wrapped.key.version
            return current
        }
        await unregister(KeyRef(provider: entry.provider, keyID: entry.keyID, version: entry.keyVersion))
        logger.info("infrastructure key re-wrapped", metadata: ["account": "\(accountID)", "key": "\(wrapped.key)"])
    }

    /// Re-wraps every infrastructure key wrapped by an older version of `key`
    /// (after a KEK rotation) to its current version, as `rewrap` does for the
    /// current key: a second Rewrap proves the new wrapping unwraps first.
    func rewrapInfrastructureKeys(using key: KeyRef, records: [AccountRecord]) async {
        for record in records {
            for entry in record.keys where entry.infrastructure && entry.provider == key.provider && entry.keyID == key.keyID {
                if key.version != 0, entry.keyVersion >= key.version { continue }
                let accountID = record.info.accountID
                do {
                    try await rewrapInfrastructureKey(accountID, entry, to: key)
                } catch {
                    logger.warning("re-wrap of the infrastructure key after rotation failed", metadata: ["account": "\(accountID)", "error": "\(error)"])
                }
            }
        }
    }
}

extension AccountRecord {
    /// Adds the infrastructure layer's key as an entry with a new account key version.
    mutating func addInfrastructureKey(_ wrapped: WrapResponse) {
        let version = allocateAccountKeyVersion()
        keys.append(AccountKeyEntry(accountKeyVersion: version, wrappedKey: wrapped.wrapped, provider: wrapped.key.provider,
                                    keyID: wrapped.key.keyID, keyVersion: wrapped.key.version, infrastructure: true))
    }

    /// The infrastructure layer's key entry, when the account has one.
    var infrastructureKey: AccountKeyEntry? { keys.first(where: \.infrastructure) }
}
