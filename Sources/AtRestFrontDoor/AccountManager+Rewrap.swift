import AtRestCrypto
import AtRestWire

extension AccountManager {
    /// Switches the account to a customer key (or back to its managed key).
    public func setEncryption(_ request: AccountSetEncryptionRequest) async throws -> AccountRecord {
        guard let record = try await registry.lookup(request.accountID) else {
            throw RPCStatus(.notFound, "account '\(request.accountID)' does not exist")
        }
        let target: KeyRef
        switch request.keySource {
        case AccountEncryption.managed:
            target = KeyRef(provider: Self.managedProvider, keyID: record.managedKeyID)
        case AccountEncryption.customer:
            guard !request.keyID.isEmpty else {
                throw RPCStatus(.invalidArgument, "a customer key source needs a key id (and optionally a provider, default 'customer')")
            }
            let provider = request.provider.isEmpty ? AccountEncryption.customer : request.provider
            guard provider != Self.managedProvider else {
                throw RPCStatus(.invalidArgument, "provider 'managed' holds service-managed keys; use key source 'managed'")
            }
            target = KeyRef(provider: provider, keyID: request.keyID)
        case "", "none", "off", "disabled":
            throw RPCStatus(.invalidArgument, "encryption cannot be turned off; choose key source 'managed' or 'customer'")
        default:
            throw RPCStatus(.invalidArgument, "unknown key source '\(request.keySource)': use 'managed' or 'customer'")
        }
        return try await rewrap(record.info.accountID, to: target, source: request.keySource)
    }

    /// Re-wraps the account key (and the older versions of its own chain,
    /// `rewrapOwnChain`) under `target`'s current version with the
    /// vault's `Rewrap`, so the plaintext account key never leaves the vault.
    /// Before that, `KeyStatus` (as the managed identity) must say the
    /// identity may both wrap and unwrap with the target, so a missing
    /// unwrap grant cannot lock the account out. After it, the new wrapping
    /// must unwrap (a second `Rewrap`, whose result is what is kept): a key
    /// that wraps but will not unwrap (revoked, an HSM that refuses) would
    /// otherwise leave the account unreadable and unable to switch back. The
    /// record changes only once that round trip worked; until then the
    /// account keeps its current wrapping.
    func rewrap(_ accountID: String, to target: KeyRef, source: String) async throws -> AccountRecord {
        guard let record = try await registry.lookup(accountID) else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
        let wrapped: WrapResponse
        var rewrappedKeys: [UInt32: (old: [UInt8], new: AccountKeyEntry)] = [:]
        do {
            let vault = try await identityVaultClient(account: accountID)
            let context = AccountWrapContext.bytes(account: accountID)
            let status = try await vault.keyStatus(target.unversioned)
            guard status.wrapAllowed, status.unwrapAllowed else {
                throw RPCStatus(status.state == "enabled" ? .permissionDenied : .failedPrecondition, status.reason)
            }
            let first = try await vault.rewrap(record.wrappedKey, context: context, to: target.unversioned)
            do {
                wrapped = try await vault.rewrap(first.wrapped, context: context, to: first.key.unversioned)
            } catch let status as RPCStatus {
                throw RPCStatus(.failedPrecondition,
                                "key \(first.key.unversioned) wrapped the account key but does not unwrap it (\(status.message)); the account stays on its current key, since switching would leave it unreadable",
                                details: status.details.merging(["reason": "unwrapRefused"]) { $1 })
            }
            rewrappedKeys = try await rewrapOwnChain(record, to: wrapped.key, vault: vault)
            try await register(wrapped.key)
        } catch let status as RPCStatus {
            throw try await explain(status, target: target, record: record)
        }
        let now = now()
        let updated = try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
            current.wrappedKey = wrapped.wrapped
            current.registered = wrapped.key
            current.apply(rewrapped: rewrappedKeys)
            current.info.encryption = AccountEncryption(
                keySource: source, provider: wrapped.key.provider, keyID: wrapped.key.keyID, keyVersion: wrapped.key.version,
                changedAtUnix: now, accountKeyVersion: current.info.encryption.accountKeyVersion)
            return current
        }
        await unregister(record.registered)
        logger.info("account key re-wrapped", metadata: ["account": "\(accountID)", "key": "\(wrapped.key)"])
        return updated!
    }

    /// Re-wraps every account whose key is wrapped by `key` (after a KEK
    /// rotation) to that key's current version.
    public func rewrapAccounts(using key: KeyRef) async {
        let records: [AccountRecord]
        do { records = try await registry.all() } catch {
            logger.warning("re-wrap after rotation could not list the accounts", metadata: ["error": "\(error)"])
            return
        }
        for record in records where record.info.encryption.provider == key.provider && record.info.encryption.keyID == key.keyID
            && record.info.state != AccountState.purged {
            if key.version != 0, record.info.encryption.keyVersion >= key.version { continue }
            do {
                _ = try await rewrap(record.info.accountID, to: key.unversioned, source: record.info.encryption.keySource)
            } catch {
                logger.warning("re-wrap after rotation failed", metadata: ["account": "\(record.info.accountID)", "error": "\(error)"])
            }
        }
        await rewrapInfrastructureKeys(using: key, records: records)
    }

    private func keyStatus(_ key: KeyRef, account: String) async throws -> KeyStatus {
        try await identityVaultClient(account: account).keyStatus(key.unversioned)
    }

    /// A refusal while switching, in words that name the missing grant.
    private func explain(_ status: RPCStatus, target: KeyRef, record: AccountRecord) async throws -> RPCStatus {
        let identity = record.info.managedIdentity
        let current = KeyRef(provider: record.info.encryption.provider, keyID: record.info.encryption.keyID)
        if status.code != .unavailable, current != target.unversioned,
           let now = try? await keyStatus(current, account: record.info.accountID), !now.unwrapAllowed {
            return RPCStatus(.failedPrecondition,
                             "the current encryption key of account '\(record.info.accountID)' (\(current)) is not accessible, so the account key cannot be re-wrapped: \(now.reason)",
                             details: status.details)
        }
        switch status.code {
        case .permissionDenied:
            return RPCStatus(.permissionDenied,
                             "account '\(record.info.accountID)' cannot use key \(target): its managed identity '\(identity)' needs both 'wrap' and 'unwrap' grants on that key (a key administrator adds them with `atrest key grant \(target.provider)/\(target.keyID) --account \(record.info.accountID) --operations wrap,unwrap`). Vault said: \(status.message)",
                             details: status.details.merging(["reason": "missingGrant", "principal": identity]) { $1 })
        case .notFound:
            return RPCStatus(.notFound, "key \(target) does not exist in the vault: \(status.message)", details: status.details)
        default:
            return RPCStatus(status.code, "switching account '\(record.info.accountID)' to key \(target) failed: \(status.message)",
                             retryAfterMs: status.retryAfterMs, details: status.details)
        }
    }
}
