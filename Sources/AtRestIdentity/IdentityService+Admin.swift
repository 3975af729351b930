import AtRestCrypto
import AtRestTokens
import AtRestWire

extension IdentityService {
    /// CreateTenant, CreateUser, CreateServicePrincipal, GrantRole, RevokeRole (identityAdministrator).
    func registerAdminMethods(_ router: inout RPCRouter) {
        router.register(IdentityMethod.createTenant) { (request: IdentityCreateTenantRequest, context) async throws -> IdentityTenant in
            _ = try await self.authorize(context, anyOf: [.identityAdministrator])
            let record = try await self.directory.createTenant(id: request.tenant, displayName: request.displayName)
            return IdentityTenant(tenant: record.id, displayName: record.displayName, createdAtUnix: record.createdAt)
        }
        router.register(IdentityMethod.createUser) { (request: IdentityCreateUserRequest, context) async throws -> IdentityCreatedPrincipal in
            _ = try await self.authorize(context, anyOf: [.identityAdministrator])
            return try await self.createPrincipal(kind: .user, tenant: request.tenant, name: request.name,
                                                  secret: request.secret, roles: [])
        }
        router.register(IdentityMethod.createServicePrincipal) { (request: IdentityCreateServicePrincipalRequest, context) async throws -> IdentityCreatedPrincipal in
            _ = try await self.authorize(context, anyOf: [.identityAdministrator])
            return try await self.createPrincipal(kind: .service, tenant: IdentityState.systemTenant, name: request.name,
                                                  secret: request.secret, roles: [.service])
        }
        router.register(IdentityMethod.grantRole) { (request: IdentityRoleRequest, context) async throws -> IdentityPrincipal in
            _ = try await self.authorize(context, anyOf: [.identityAdministrator])
            let (id, role) = try await self.roleTarget(request)
            return try await self.directory.grant(role, to: id).wire
        }
        router.register(IdentityMethod.revokeRole) { (request: IdentityRoleRequest, context) async throws -> IdentityPrincipal in
            _ = try await self.authorize(context, anyOf: [.identityAdministrator])
            let (id, role) = try await self.roleTarget(request)
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

    private func roleTarget(_ request: IdentityRoleRequest) async throws -> (String, Role) {
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
        return (principal.id, role)
    }
}
