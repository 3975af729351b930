import AtRestTokens
import AtRestWire

extension IdentityService {
    /// CreateManagedIdentity, ManagedIdentityToken, AccountIdentity, MoveAccount: services only.
    /// An operator moves an account with the front door's `Account/Move`, which
    /// calls MoveAccount and then tells the vault (so the move takes effect at once).
    func registerAccountMethods(_ router: inout RPCRouter) {
        router.register(IdentityMethod.createManagedIdentity) { (request: IdentityAccountRequest, context) async throws -> IdentityManagedIdentity in
            _ = try await self.authorize(context, anyOf: [.service])
            return try await self.directory.createManagedIdentity(account: request.accountID, tenant: request.tenant).managedIdentityWire
        }
        router.register(IdentityMethod.managedIdentityToken) { (request: IdentityAccountRequest, context) async throws -> IdentityToken in
            _ = try await self.authorize(context, anyOf: [.service])
            let identity = try await self.directory.managedIdentity(account: request.accountID)
            return try await self.directory.issuer().issue(for: identity, now: self.config.now())
        }
        router.register(IdentityMethod.accountIdentity) { (request: IdentityAccountRequest, context) async throws -> IdentityManagedIdentity in
            _ = try await self.authorize(context, anyOf: [.service])
            return try await self.directory.managedIdentity(account: request.accountID).managedIdentityWire
        }
        router.register(IdentityMethod.moveAccount) { (request: IdentityMoveAccountRequest, context) async throws -> IdentityMoveAccountReply in
            _ = try await self.authorize(context, anyOf: [.service])
            let (identity, previous) = try await self.directory.moveAccount(request.accountID, to: request.newTenant)
            let notice = ManagedIdentityGrant.moveNotice(account: request.accountID, identity: identity.id,
                                                         from: previous, to: identity.tenant)
            return IdentityMoveAccountReply(identity: identity.managedIdentityWire, previousTenant: previous, notice: notice)
        }
    }
}
