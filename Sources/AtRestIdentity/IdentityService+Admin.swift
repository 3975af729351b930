import AtRestCrypto
import AtRestTokens
import AtRestWire

extension IdentityService {
    /// CreateTenant, CreateUser, CreateServicePrincipal, GrantRole, RevokeRole
    /// (identityAdministrator). The caller's tenant is checked as well as its
    /// role: an administrator of the system tenant administers every tenant;
    /// one of another tenant only the principals of its own, and it can
    /// neither create tenants or service principals nor grant `service`.
    func registerAdminMethods(_ router: inout RPCRouter) {
        router.register(IdentityMethod.createTenant) { (request: IdentityCreateTenantRequest, context) async throws -> IdentityTenant in
            try await self.authorizeSystemAdministrator(context)
            let record = try await self.directory.createTenant(id: request.tenant, displayName: request.displayName)
            return IdentityTenant(tenant: record.id, displayName: record.displayName, createdAtUnix: record.createdAt)
        }
        router.register(IdentityMethod.createUser) { (request: IdentityCreateUserRequest, context) async throws -> IdentityCreatedPrincipal in
            try await self.authorizeAdministrator(context, of: request.tenant)
            return try await self.createPrincipal(kind: .user, tenant: request.tenant, name: request.name,
                                                  secret: request.secret, roles: [])
        }
        router.register(IdentityMethod.createServicePrincipal) { (request: IdentityCreateServicePrincipalRequest, context) async throws -> IdentityCreatedPrincipal in
            try await self.authorizeSystemAdministrator(context)
            return try await self.createPrincipal(kind: .service, tenant: IdentityState.systemTenant, name: request.name,
                                                  secret: request.secret, roles: [.service])
        }
        router.register(IdentityMethod.grantRole) { (request: IdentityRoleRequest, context) async throws -> IdentityPrincipal in
            let (id, role) = try await self.roleTarget(request, context, granting: true)
            return try await self.directory.grant(role, to: id).wire
        }
        router.register(IdentityMethod.revokeRole) { (request: IdentityRoleRequest, context) async throws -> IdentityPrincipal in
            let (id, role) = try await self.roleTarget(request, context)
            return try await self.directory.revoke(role, from: id).wire
        }
    }

    /// ListTenants, ListPrincipals (identityAdministrator). An administrator
    /// of the system tenant sees every tenant; one of another tenant sees
    /// only its own, and naming another tenant is PERMISSION_DENIED.
    func registerListMethods(_ router: inout RPCRouter) {
        router.register(IdentityMethod.listTenants) { (request: IdentityListRequest, context) async throws -> IdentityTenantList in
            let tenant = try await self.visibleTenant(request, context)
            let records = await self.directory.tenants().filter { tenant == nil || $0.id == tenant }
            return IdentityTenantList(tenants: records.map { IdentityTenant(tenant: $0.id, displayName: $0.displayName, createdAtUnix: $0.createdAt) })
        }
        router.register(IdentityMethod.listPrincipals) { (request: IdentityListRequest, context) async throws -> IdentityPrincipalList in
            let tenant = try await self.visibleTenant(request, context)
            guard request.kind.isEmpty || PrincipalKind(rawValue: request.kind) != nil else {
                throw RPCStatus(.invalidArgument, "unknown principal kind '\(request.kind.prefix(64))'; kinds are: user, service, managedIdentity")
            }
            let records = await self.directory.principals().filter {
                (tenant == nil || $0.tenant == tenant) && (request.kind.isEmpty || $0.kind.rawValue == request.kind)
            }
            return IdentityPrincipalList(principals: records.map(\.wire))
        }
    }

    /// The one tenant a List call may see (nil: all), after checking the caller's role and tenant.
    private func visibleTenant(_ request: IdentityListRequest, _ context: RPCContext) async throws -> String? {
        let claims = try await authorize(context, anyOf: [.identityAdministrator])
        if claims.tenant == IdentityState.systemTenant { return request.tenant.isEmpty ? nil : request.tenant }
        guard request.tenant.isEmpty || request.tenant == claims.tenant else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' of tenant '\(claims.tenant)' may list only its own tenant")
        }
        return claims.tenant
    }

    /// Hashes the secret (generating one when empty) outside the directory actor, then creates the principal.
    func createPrincipal(kind: PrincipalKind, tenant: String, name: String, secret: String, roles: [Role]) async throws -> IdentityCreatedPrincipal {
        if !secret.isEmpty && secret.utf8.count < 12 {
            throw RPCStatus(.invalidArgument, "secret is too short: use at least 12 characters, or leave it empty to get a generated one")
        }
        let generated = secret.isEmpty ? try Bootstrap.generateSecret() : ""
        let hash = try PasswordHash(hashing: Array((secret.isEmpty ? generated : secret).utf8), iterations: config.passwordIterations)
        let record = try await directory.createPrincipal(kind: kind, tenant: tenant, name: name, secretHash: hash.encoded, roles: roles)
        return IdentityCreatedPrincipal(principal: record.wire, generatedSecret: generated)
    }

    /// An identity administrator of the system tenant (tenants, service
    /// principals and the signing key are the whole directory's).
    func authorizeSystemAdministrator(_ context: RPCContext) async throws {
        let claims = try await authorize(context, anyOf: [.identityAdministrator])
        guard claims.tenant == IdentityState.systemTenant else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' of tenant '\(claims.tenant)' may administer only its own tenant; \(context.header.method) needs an identity administrator of the system tenant")
        }
    }

    /// An identity administrator of the system tenant, or of `tenant` itself.
    @discardableResult
    private func authorizeAdministrator(_ context: RPCContext, of tenant: String) async throws -> TokenClaims {
        let claims = try await authorize(context, anyOf: [.identityAdministrator])
        guard claims.tenant == IdentityState.systemTenant || claims.tenant == tenant else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' of tenant '\(claims.tenant)' may administer only its own tenant, not '\(tenant.prefix(128))'")
        }
        return claims
    }

    /// The principal and role of a Grant/RevokeRole, after checking the caller may change that principal's roles.
    private func roleTarget(_ request: IdentityRoleRequest, _ context: RPCContext, granting: Bool = false) async throws -> (String, Role) {
        let claims = try await authorize(context, anyOf: [.identityAdministrator])
        guard let role = Role(request.role) else {
            throw RPCStatus(.invalidArgument, "unknown role '\(request.role.prefix(128))'; roles are: \(Role.syntax)")
        }
        if case .accountIdentity = role {
            throw RPCStatus(.invalidArgument, "role accountIdentity belongs only to an account's managed identity and cannot be granted")
        }
        let principal = try await directory.resolve(id: request.principalID, tenant: request.tenant, name: request.name)
        guard principal.kind != .managedIdentity else {
            throw RPCStatus(.failedPrecondition, "managed identity '\(principal.id)' is owned by the service; its roles cannot be changed")
        }
        if claims.tenant != IdentityState.systemTenant {
            // Checked after the lookup, which answers NOT_FOUND alike for every tenant: tenant names are not secret here.
            guard principal.tenant == claims.tenant else {
                throw RPCStatus(.permissionDenied, "principal '\(claims.name)' of tenant '\(claims.tenant)' may change roles only in its own tenant")
            }
            guard role != .service else {
                throw RPCStatus(.permissionDenied, "role service is granted only by an identity administrator of the system tenant")
            }
        }
        // An account role names an account of the principal's own tenant (or one
        // not created yet): the front door would ignore a role for another
        // tenant's account anyway (it checks every caller's tenant), and no token
        // should carry one. Revoking such a role stays possible.
        // The service role is for AtRest's own service principals (of the system
        // tenant): the vault and the identity service trust it on their own
        // endpoints, so not even the system administrator gives it to a user.
        if granting, role == .service, principal.kind != .service || principal.tenant != IdentityState.systemTenant {
            throw RPCStatus(.failedPrecondition, "role service is only for service principals of the system tenant; '\(principal.name)' is a \(principal.kind.rawValue) of tenant '\(principal.tenant)'")
        }
        if granting, let account = Self.account(of: role),
           let identity = try? await directory.managedIdentity(account: account), identity.tenant != principal.tenant {
            throw RPCStatus(.notFound, "no account '\(account)' in tenant '\(principal.tenant)'")
        }
        return (principal.id, role)
    }

    private static func account(of role: Role) -> String? {
        switch role {
        case .accountOwner(let account), .accountReader(let account): account
        default: nil
        }
    }
}
