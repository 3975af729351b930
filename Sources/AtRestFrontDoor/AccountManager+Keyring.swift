import AtRestClient
import AtRestWire

extension AccountManager {
    /// Gives the account a new account key (`Account/RotateKey`): the vault
    /// generates it and wraps it under the account's current KEK (as the
    /// managed identity; the front door never sees it in clear); it gets a
    /// version never used in this account and becomes the key new writes use.
    /// The previous key becomes an entry of `record.keys` (scope ""), so
    /// objects written under it stay readable by their header's version. Names
    /// on disk keep their stable name key (docs/FORMAT.md "Account key versions").
    public func rotateKey(_ accountID: String) async throws -> AccountRecord {
        guard let record = try await registry.lookup(accountID) else { throw RPCStatus(.notFound, "account '\(accountID)' does not exist") }
        let kek = KeyRef(provider: record.info.encryption.provider, keyID: record.info.encryption.keyID)
        let wrapped: WrapResponse
        do {
            wrapped = try await generateWrappedKey(with: kek, account: accountID)
        } catch let status as RPCStatus {
            throw RPCStatus(status.code, "rotating the account key of '\(accountID)' failed: the vault could not generate a key under \(kek): \(status.message)",
                            retryAfterMs: status.retryAfterMs, details: status.details)
        }
        let now = now()
        var previousVersion: UInt32 = 0
        let updated = try await registry.update(accountID) { current in
            guard var current else { throw RPCStatus(.notFound, "account '\(accountID)' was deleted meanwhile") }
            let e = current.info.encryption
            previousVersion = max(1, e.accountKeyVersion)
            current.keys.append(AccountKeyEntry(accountKeyVersion: previousVersion, wrappedKey: current.wrappedKey, provider: e.provider,
                                                keyID: e.keyID, keyVersion: e.keyVersion))
            let version = current.allocateAccountKeyVersion()
            current.wrappedKey = wrapped.wrapped
            current.info.encryption = AccountEncryption(
                keySource: e.keySource, provider: wrapped.key.provider, keyID: wrapped.key.keyID, keyVersion: wrapped.key.version,
                changedAtUnix: now, accountKeyVersion: version, algorithm: e.algorithm)
            current.info.accountKeyVersions = current.ownChainVersions
            return current
        }
        var result = updated!
        logger.info("account key rotated", metadata: [
            "account": "\(accountID)", "from": "\(previousVersion)", "to": "\(result.info.encryption.accountKeyVersion)", "kek": "\(wrapped.key)",
        ])
        // The KEK rotated since the account's last re-wrap: the new key is under its
        // newest version, the older entries are not; one re-wrap moves them all there
        // (and the vault reference with them).
        if wrapped.key != result.registered {
            result = try await rewrap(accountID, to: kek, source: result.info.encryption.keySource)
        }
        return result
    }

    /// Re-wraps the own-chain entries of `record` (older account key versions,
    /// the names-only entry) to `target` with the vault's `Rewrap`, as
    /// `rewrap` does for the current key. Returns the entries by version.
    func rewrapOwnChain(_ record: AccountRecord, to target: KeyRef, vault: VaultClient) async throws -> [UInt32: (old: [UInt8], new: AccountKeyEntry)] {
        var result: [UInt32: (old: [UInt8], new: AccountKeyEntry)] = [:]
        let context = AccountWrapContext.bytes(account: record.info.accountID)
        for entry in record.keys where entry.isOwnChain {
            let wrapped = try await vault.rewrap(entry.wrappedKey, context: context, to: target.unversioned)
            var moved = entry
            moved.wrappedKey = wrapped.wrapped
            moved.provider = wrapped.key.provider
            moved.keyID = wrapped.key.keyID
            moved.keyVersion = wrapped.key.version
            result[entry.accountKeyVersion] = (entry.wrappedKey, moved)
        }
        return result
    }
}

extension AccountRecord {
    /// Account key versions of the account's own chain that data may be under:
    /// the current one and every older one kept (not the names-only entry).
    var ownChainVersions: [UInt32] {
        (keys.filter { $0.isOwnChain && !$0.namesOnly }.map(\.accountKeyVersion) + [max(1, info.encryption.accountKeyVersion)]).sorted()
    }

    /// Applies re-wrapped own-chain entries (from `rewrapOwnChain`) whose
    /// wrapped form is still the one re-wrapped (a concurrent change wins).
    mutating func apply(rewrapped: [UInt32: (old: [UInt8], new: AccountKeyEntry)]) {
        for index in keys.indices {
            if let change = rewrapped[keys[index].accountKeyVersion], keys[index].wrappedKey == change.old { keys[index] = change.new }
        }
    }
}
