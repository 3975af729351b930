import AtRestWire

/// Typed calls to `atrest.v1.Identity/*` (directly or through the front door).
public struct IdentityClient: Sendable {
    public let base: ServiceClient

    public init(_ base: ServiceClient) { self.base = base }

    /// Client-credential login; does not store the token (see `ServiceClient.bearerToken`).
    /// Idempotent: a login changes no state, so a lost reply may be retried.
    public func login(tenant: String = "", clientID: String, secret: String) async throws -> IdentityToken {
        try await base.call(IdentityMethod.login, IdentityLoginRequest(tenant: tenant, clientID: clientID, secret: secret), idempotent: true)
    }

    /// The published signing keys (no token needed).
    public func keys() async throws -> IdentityKeySet {
        try await base.call(IdentityMethod.keys, EmptyMessage(), idempotent: true)
    }

    public func whoAmI() async throws -> IdentityWhoAmI {
        try await base.call(IdentityMethod.whoAmI, EmptyMessage(), idempotent: true)
    }

    public func createTenant(_ tenant: String, displayName: String = "") async throws -> IdentityTenant {
        try await base.call(IdentityMethod.createTenant, IdentityCreateTenantRequest(tenant: tenant, displayName: displayName))
    }

    public func createUser(tenant: String, name: String, secret: String = "") async throws -> IdentityCreatedPrincipal {
        try await base.call(IdentityMethod.createUser, IdentityCreateUserRequest(tenant: tenant, name: name, secret: secret))
    }

    public func createServicePrincipal(name: String, secret: String = "") async throws -> IdentityCreatedPrincipal {
        try await base.call(IdentityMethod.createServicePrincipal, IdentityCreateServicePrincipalRequest(name: name, secret: secret))
    }

    public func grantRole(_ request: IdentityRoleRequest) async throws -> IdentityPrincipal {
        try await base.call(IdentityMethod.grantRole, request)
    }

    public func revokeRole(_ request: IdentityRoleRequest) async throws -> IdentityPrincipal {
        try await base.call(IdentityMethod.revokeRole, request)
    }

    public func createManagedIdentity(account: String, tenant: String) async throws -> IdentityManagedIdentity {
        try await base.call(IdentityMethod.createManagedIdentity, IdentityAccountRequest(accountID: account, tenant: tenant))
    }

    /// A token for the account's managed identity (services only; idempotent, like a login).
    public func managedIdentityToken(account: String) async throws -> IdentityToken {
        try await base.call(IdentityMethod.managedIdentityToken, IdentityAccountRequest(accountID: account), idempotent: true)
    }

    public func accountIdentity(account: String) async throws -> IdentityManagedIdentity {
        try await base.call(IdentityMethod.accountIdentity, IdentityAccountRequest(accountID: account), idempotent: true)
    }

    public func moveAccount(_ account: String, to tenant: String) async throws -> IdentityMoveAccountReply {
        try await base.call(IdentityMethod.moveAccount, IdentityMoveAccountRequest(accountID: account, newTenant: tenant))
    }

    /// Tenants the caller may see (`tenant`: only that one).
    public func listTenants(tenant: String = "") async throws -> [IdentityTenant] {
        try await base.call(IdentityMethod.listTenants, IdentityListRequest(tenant: tenant), idempotent: true).tenants
    }

    /// Principals (with their roles) the caller may see, optionally of one tenant and one kind.
    public func listPrincipals(tenant: String = "", kind: String = "") async throws -> [IdentityPrincipal] {
        try await base.call(IdentityMethod.listPrincipals, IdentityListRequest(tenant: tenant, kind: kind), idempotent: true).principals
    }

    public func rotateSigningKey() async throws -> IdentityRotation {
        try await base.call(IdentityMethod.rotateSigningKey, EmptyMessage())
    }
}
