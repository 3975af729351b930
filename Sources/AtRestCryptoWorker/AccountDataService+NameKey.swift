import AtRestClient
import AtRestCrypto
import AtRestWire

extension AccountDataService {
    /// `AccountData/WrapNameKey`: the account's stable name key (what the key
    /// cache hashes names with: HKDF of its lowest own-chain version, or its
    /// names-only entry) wrapped with the vault's `Wrap` under the account's
    /// current KEK, as the managed identity, with the account's wrap context:
    /// a names-only entry that stands for the lowest own-chain version once
    /// that version is retired. The plaintext goes only to the vault (over
    /// the worker's vault link), like every account key the vault wraps.
    func wrapNameKey(_ rpc: RPCContext) async throws -> AccountKeyEntry {
        guard let keyVault else { throw RPCStatus(.unavailable, "this worker cannot reach the vault to wrap the name key") }
        let context = try BlobService.accountContext(rpc.header)
        let key = try await blobs.keys.key(for: context)
        let versions = context.keys.filter { $0.isOwnChain }.map(\.accountKeyVersion) + [max(1, context.accountKeyVersion)]
        let kek = KeyRef(provider: context.provider, keyID: context.keyID)
        let nameKey = key.stableNameKey.withUnsafeBytes { Array($0) }
        let wrapped: WrapResponse
        do {
            wrapped = try await keyVault.withFreshTokenOnce(context) { vault in
                try await vault.wrap(nameKey, with: kek, context: AccountWrapContext.bytes(account: context.accountID))
            }
        } catch let status as RPCStatus {
            throw KeyAccessError.from(status, context: context)
        }
        return AccountKeyEntry(accountKeyVersion: versions.min() ?? 1, wrappedKey: wrapped.wrapped, provider: wrapped.key.provider,
                               keyID: wrapped.key.keyID, keyVersion: wrapped.key.version, namesOnly: true)
    }
}
