import AtRestClient
import AtRestCrypto
import AtRestTokens
import AtRestWire

extension AccountManager {
    /// Moves an account to another tenant, in order (each step can be
    /// repeated, so a failed move is finished by calling it again):
    /// 1. identity: the managed identity goes to `tenant` (new tokens name it);
    /// 2. vault: `AccountMoved`, so tokens naming the old tenant are refused at
    ///    once and workers drop the account key (the move takes effect within
    ///    the revocation bound, not when the worker's token expires);
    /// 3. the account gets a managed key of its new tenant, and an account on
    ///    its managed key is re-wrapped to it; the identity's grant on the old
    ///    managed key is revoked (the key stays, unused and unreferenced);
    /// 4. the registry records the new tenant.
    /// An account on a customer key of the old tenant stays on it: that key's
    /// grant no longer applies, and the notice names the repair.
    public func move(_ accountID: String, to tenant: String) async throws -> AccountMoveResponse {
        guard let record = try await registry.lookup(accountID) else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
        let identity = try await serviceIdentityClient()
        var previous = record.info.tenant
        var notice = ""
        do {
            let moved = try await identity.moveAccount(accountID, to: tenant)
            previous = moved.previousTenant
            notice = moved.notice
        } catch let status as RPCStatus where status.code == .failedPrecondition {
            // Already there: an earlier move stopped after step 1.
            guard try await identity.accountIdentity(account: accountID).tenant == tenant else { throw status }
        }
        let serviceVault = try await serviceVaultClient()
        try await serviceVault.accountMoved(VaultIdentityTenant(principalID: record.info.managedIdentity, accountID: accountID, tenant: tenant))
        tokens.forget(account: accountID)
        // Repeated after it finished (the registry is written last): nothing more to do.
        if record.info.tenant == tenant { return AccountMoveResponse(account: record.info, previousTenant: previous, notice: notice) }

        let managedKey = try await newManagedKey(tenant: tenant, identity: record.info.managedIdentity)
        if record.info.encryption.keySource == AccountEncryption.managed {
            _ = try await rewrap(accountID, to: managedKey, source: AccountEncryption.managed)
        }
        try await moveInfrastructureKey(accountID, to: tenant)
        let updated = try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
            current.info.tenant = tenant
            current.managedKeyID = managedKey.keyID
            return current
        }
        let oldManaged = KeyRef(provider: Self.managedProvider, keyID: record.managedKeyID)
        do {
            _ = try await serviceVault.revokeAccess(AccessGrant(key: oldManaged, principalID: record.info.managedIdentity, operations: []))
        } catch {
            logger.notice("could not revoke the moved account's grant on its old managed key", metadata: ["key": "\(oldManaged)", "error": "\(error)"])
        }
        logger.info("account moved", metadata: ["account": "\(accountID)", "from": "\(previous)", "to": "\(tenant)"])
        return AccountMoveResponse(account: updated!.info, previousTenant: previous, notice: notice)
    }

    /// A managed-provider key owned by `tenant`, wrap/unwrap granted to `identity` only.
    func newManagedKey(tenant: String, identity: String) async throws -> KeyRef {
        // A random name: key ids are stored in clear in every object header, the account name must not be.
        let name = "mk-" + Hex.encode(try SecureRandom.bytes(12))
        let vault = try await serviceVaultClient()
        let key = try await vault.createKey(provider: Self.managedProvider, KeySpec(keyID: name), tenant: tenant).ref.unversioned
        _ = try await vault.grantAccess(AccessGrant(key: key, principalID: identity, operations: [.wrap, .unwrap]))
        return key
    }
}
