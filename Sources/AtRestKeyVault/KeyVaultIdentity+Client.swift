import AtRestClient
import AtRestMessaging
import AtRestWire

extension KeyVaultIdentity {
    /// The identity service over `IdentityClient`: its key set, and account
    /// lookups as this vault's own service principal when `credentials` are
    /// given (grants to an account need them).
    public static func connect(endpoint: String, curve: CurveClientConfiguration?,
                               credentials: ServiceTokens.Credentials?) throws -> KeyVaultIdentity {
        let identity = IdentityClient(try ServiceClient(endpoint: endpoint, timeout: .seconds(5), curve: curve))
        let resolver = credentials.map { AccountResolver(identity: identity, tokens: ServiceTokens(identity: identity.base.rpc, credentials: $0)) }
        return KeyVaultIdentity(keySet: { try await identity.keys() }, resolveAccount: resolver?.resolve)
    }
}

/// Resolves an account's managed identity with the identity service, as the
/// vault's own service principal.
struct AccountResolver: Sendable {
    let identity: IdentityClient
    let tokens: ServiceTokens

    func resolve(_ account: String) async throws -> (principalID: String, tenant: String) {
        let token = try await tokens.serviceToken().token
        let client = ServiceClient(rpc: identity.base.rpc, token: token, timeout: .seconds(5))
        let found = try await IdentityClient(client).accountIdentity(account: account)
        return (found.principalID, found.tenant)
    }
}
