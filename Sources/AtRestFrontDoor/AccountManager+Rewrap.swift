import AtRestCrypto
import AtRestCryptoWorker
import AtRestKeyVault
import AtRestWire

extension AccountManager {
    /// Switches the account to a customer key (or back to its managed key).
    public func setEncryption(_ request: AccountSetEncryptionRequest) async throws -> AccountRecord {
        guard let record = registry.record(request.accountID) else {
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

    /// Re-wraps the account key under `target`'s current version. The new
    /// wrapping is checked to unwrap before it is stored, so a missing unwrap
    /// grant cannot lock the account out.
    func rewrap(_ accountID: String, to target: KeyRef, source: String) async throws -> AccountRecord {
        guard let record = registry.record(accountID) else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
        let key = try await unwrap(record)
        let wrapped: WrapResponse
        do {
            wrapped = try await wrap(key, with: target, account: accountID)
            _ = try await unwrapBlob(wrapped.wrapped, account: accountID)
            try await register(wrapped.key, account: accountID)
        } catch let status as RPCStatus {
            throw explain(status, target: target, record: record)
        }
        let now = now()
        let updated = try registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
            current.wrappedKey = wrapped.wrapped
            current.registered = wrapped.key
            current.info.encryption = AccountEncryption(
                keySource: source, provider: wrapped.key.provider, keyID: wrapped.key.keyID, keyVersion: wrapped.key.version,
                changedAtUnix: now, accountKeyVersion: current.info.encryption.accountKeyVersion)
            return current
        }
        await unregister(record.registered, account: accountID)
        logger.info("account key re-wrapped", metadata: ["account": "\(accountID)", "key": "\(wrapped.key)"])
        return updated!
    }

    /// Re-wraps every account whose key is wrapped by `key` (after a KEK
    /// rotation) to that key's current version.
    public func rewrapAccounts(using key: KeyRef) async {
        for record in registry.all where record.info.encryption.provider == key.provider && record.info.encryption.keyID == key.keyID {
            if key.version != 0, record.info.encryption.keyVersion >= key.version { continue }
            do {
                _ = try await rewrap(record.info.accountID, to: key.unversioned, source: record.info.encryption.keySource)
            } catch {
                logger.warning("re-wrap after rotation failed", metadata: ["account": "\(record.info.accountID)", "error": "\(error)"])
            }
        }
    }

    private func unwrap(_ record: AccountRecord) async throws -> SecretBytes {
        do {
            return try await unwrapBlob(record.wrappedKey, account: record.info.accountID)
        } catch let status as RPCStatus {
            throw RPCStatus(status.code == .unavailable ? .unavailable : .failedPrecondition,
                            "the current encryption key of account '\(record.info.accountID)' (\(record.info.encryption.provider)/\(record.info.encryption.keyID)) is not accessible, so the account key cannot be re-wrapped: \(status.message)",
                            details: status.details)
        }
    }

    private func unwrapBlob(_ blob: [UInt8], account: String) async throws -> SecretBytes {
        let token = try await tokens.managedIdentityToken(account: account)
        var reply = try await vault.call(
            "atrest.v1.KeyVault/Unwrap", request: UnwrapRequest(wrapped: blob, context: AccountKeyVault.wrapContext(account: account)),
            as: UnwrapResponse.self, timeout: .seconds(10), metadata: ["authorization": "Bearer " + token.token])
        let key = SecretBytes(reply.message.plaintext)
        _ = reply.message.plaintext.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        return key
    }

    /// A refusal while switching, in words that name the missing grant.
    private func explain(_ status: RPCStatus, target: KeyRef, record: AccountRecord) -> RPCStatus {
        let identity = record.info.managedIdentity
        switch status.code {
        case .permissionDenied:
            return RPCStatus(.permissionDenied,
                             "account '\(record.info.accountID)' cannot use key \(target): its managed identity '\(identity)' needs both 'wrap' and 'unwrap' grants on that key (a key administrator adds them with `atrest key grant \(target.provider)/\(target.keyID) --principal \(identity) --ops wrap,unwrap`). Vault said: \(status.message)",
                             details: status.details.merging(["reason": "missingGrant", "principal": identity]) { $1 })
        case .notFound:
            return RPCStatus(.notFound, "key \(target) does not exist in the vault: \(status.message)", details: status.details)
        default:
            return RPCStatus(status.code, "switching account '\(record.info.accountID)' to key \(target) failed: \(status.message)",
                             retryAfterMs: status.retryAfterMs, details: status.details)
        }
    }
}
