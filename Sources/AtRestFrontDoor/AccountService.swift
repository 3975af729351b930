import AtRestTokens
import AtRestWire

/// `atrest.v1.Account/*` over the registry and the account manager.
struct AccountService {
    let manager: AccountManager
    let authorizer: CallAuthorizer

    var router: RPCRouter {
        var router = RPCRouter()
        router.register(AccountMethod.create) { (request: AccountCreateRequest, rpc) async throws -> AccountInfo in
            let claims = try await authorizer.caller(rpc.header)
            guard claims.kind == "user" || claims.has(.identityAdministrator) else {
                throw RPCStatus(.permissionDenied, "accounts are created by users; principal '\(claims.name)' is a \(claims.kind)")
            }
            return try await manager.create(request.accountID, redundancy: request.redundancy,
                                            infrastructureEncryption: request.infrastructureEncryption, owner: claims).info
        }
        router.register(AccountMethod.get) { (request: AccountRequest, rpc) async throws -> AccountInfo in
            try await readable(request.accountID, rpc).info
        }
        router.register(AccountMethod.getEncryption) { (request: AccountRequest, rpc) async throws -> AccountEncryption in
            try await readable(request.accountID, rpc).info.encryption
        }
        router.register(AccountMethod.list) { (_: AccountListRequest, rpc) async throws -> AccountListResponse in
            let claims = try await authorizer.caller(rpc.header)
            return AccountListResponse(accounts: try await manager.registry.all().filter { authorizer.canRead(claims, $0) }.map(\.info))
        }
        router.register(AccountMethod.move) { (request: AccountMoveRequest, rpc) async throws -> AccountMoveResponse in
            let claims = try await authorizer.caller(rpc.header)
            guard claims.has(.identityAdministrator), claims.tenant == TokenClaims.systemTenant else {
                throw RPCStatus(.permissionDenied, "moving an account between tenants is for the identity administrator of tenant '\(TokenClaims.systemTenant)'")
            }
            return try await manager.move(request.accountID, to: request.tenant)
        }
        router.register(AccountMethod.setEncryption) { (request: AccountSetEncryptionRequest, rpc) async throws -> AccountEncryption in
            let claims = try await authorizer.caller(rpc.header)
            guard let record = try await manager.registry.lookup(request.accountID), authorizer.canManage(claims, record) else {
                throw RPCStatus(.permissionDenied, "principal '\(claims.name)' is not an owner of account '\(request.accountID)' (or it does not exist)")
            }
            return try await manager.setEncryption(request).info.encryption
        }
        return router
    }

    private func readable(_ account: String, _ rpc: RPCContext) async throws -> AccountRecord {
        let claims = try await authorizer.caller(rpc.header)
        guard let record = try await manager.registry.lookup(account), authorizer.canRead(claims, record) else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' has no access to account '\(account)' (or it does not exist)")
        }
        return record
    }
}
