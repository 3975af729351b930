import AtRestWire

/// What the vault asks of the identity service: its signing keys (tokens are
/// verified offline, keys refreshed on an unknown kid) and, when the vault
/// has its own service principal, an account's managed identity (grants to
/// an account). `connect` fills it with `IdentityClient` calls; tests can
/// answer in-process.
public struct KeyVaultIdentity: Sendable {
    public var keySet: @Sendable () async throws -> IdentityKeySet
    /// nil: the vault has no credentials, grants name principals only.
    public var resolveAccount: KeyVaultService.ResolveAccount?

    public init(keySet: @escaping @Sendable () async throws -> IdentityKeySet, resolveAccount: KeyVaultService.ResolveAccount?) {
        self.keySet = keySet
        self.resolveAccount = resolveAccount
    }
}
