import AtRestTokens
import AtRestWire

/// `atrest.v1.Account/*` over the registry and the account manager.
struct AccountService {
    let manager: AccountManager
    let authorizer: CallAuthorizer
    let deletion: AccountDeletion
    let jobs: AccountReencryptJobs

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
            try await readable(request.accountID, rpc).shownInfo(now: manager.now())
        }
        router.register(AccountMethod.getEncryption) { (request: AccountRequest, rpc) async throws -> AccountEncryption in
            try await readable(request.accountID, rpc).info.encryption
        }
        router.register(AccountMethod.list) { (_: AccountListRequest, rpc) async throws -> AccountListResponse in
            let claims = try await authorizer.caller(rpc.header)
            return AccountListResponse(accounts: try await manager.registry.all().filter { authorizer.canRead(claims, $0) }
                .map { $0.shownInfo(now: manager.now()) })
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
            if let refusal = AccountDeletion.refusal(record.info) { throw refusal }
            return try await manager.setEncryption(request).info.encryption
        }
        router.register(AccountMethod.delete) { (request: AccountDeleteRequest, rpc) async throws -> AccountInfo in
            try await managed(request.accountID, rpc)
            return try await deletion.delete(request.accountID, force: request.force)
        }
        router.register(AccountMethod.recover) { (request: AccountRequest, rpc) async throws -> AccountInfo in
            try await managed(request.accountID, rpc)
            return try await deletion.recover(request.accountID)
        }
        router.register(AccountMethod.rotateKey) { (request: AccountRequest, rpc) async throws -> AccountEncryption in
            let record = try await manageable(request.accountID, rpc)
            if let refusal = AccountDeletion.refusal(record.info) { throw refusal }
            return try await manager.rotateKey(record.info.accountID).info.encryption
        }
        registerScopeMethods(&router)
        registerJobMethods(&router)
        return router
    }

    /// Delete and Recover: an owner of the account in its tenant (or the
    /// system tenant's identity administrator). Another tenant's account
    /// answers NOT_FOUND, like one that does not exist; a reader PERMISSION_DENIED.
    private func managed(_ account: String, _ rpc: RPCContext) async throws {
        let claims = try await authorizer.caller(rpc.header)
        let admin = claims.has(.identityAdministrator) && claims.tenant == TokenClaims.systemTenant
        guard let record = try await manager.registry.lookup(account), record.info.tenant == claims.tenant || admin else {
            throw RPCStatus(.notFound, "account '\(account)' does not exist")
        }
        guard authorizer.canManage(claims, record) || admin else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' is not an owner of account '\(account)'; deleting or recovering it needs the accountOwner role")
        }
    }

    /// The record, if the caller is an owner (tenant-checked like `SetEncryption`).
    func manageable(_ account: String, _ rpc: RPCContext) async throws -> AccountRecord {
        let claims = try await authorizer.caller(rpc.header)
        guard let record = try await manager.registry.lookup(account), authorizer.canManage(claims, record) else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' is not an owner of account '\(account)' (or it does not exist)")
        }
        return record
    }

    func readable(_ account: String, _ rpc: RPCContext) async throws -> AccountRecord {
        let claims = try await authorizer.caller(rpc.header)
        guard let record = try await manager.registry.lookup(account), authorizer.canRead(claims, record) else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' has no access to account '\(account)' (or it does not exist)")
        }
        return record
    }
}
