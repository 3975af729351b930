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
            let record = try await owned(request.accountID, rpc).record
            if let refusal = AccountDeletion.refusal(record.info) { throw refusal }
            return try await manager.setEncryption(request).info.encryption
        }
        router.register(AccountMethod.delete) { (request: AccountDeleteRequest, rpc) async throws -> AccountInfo in
            try await owned(request.accountID, rpc, operatorMayAct: true)
            return try await deletion.delete(request.accountID, force: request.force)
        }
        router.register(AccountMethod.recover) { (request: AccountRequest, rpc) async throws -> AccountInfo in
            try await owned(request.accountID, rpc, operatorMayAct: true)
            return try await deletion.recover(request.accountID)
        }
        router.register(AccountMethod.rotateKey) { (request: AccountRequest, rpc) async throws -> AccountEncryption in
            let record = try await owned(request.accountID, rpc).record
            if let refusal = AccountDeletion.refusal(record.info) { throw refusal }
            return try await manager.rotateKey(record.info.accountID).info.encryption
        }
        registerScopeMethods(&router)
        registerJobMethods(&router)
        return router
    }

    /// The one owner check of the account methods (SetEncryption, RotateKey,
    /// the scope methods, Delete, Recover): an owner of the account in the
    /// account's tenant. An account of another tenant answers NOT_FOUND,
    /// exactly like one that does not exist (a caller learns nothing of other
    /// tenants); a principal of the account's tenant without the owner role
    /// gets PERMISSION_DENIED. `operatorMayAct` also admits the system
    /// tenant's identity administrator (Delete and Recover: the operator
    /// removes or restores an account, as it moves one).
    /// The account `rpc`'s caller owns, with the caller's verified claims
    /// (verified once per call; the job methods record who acted).
    @discardableResult
    func owned(_ account: String, _ rpc: RPCContext, operatorMayAct: Bool = false) async throws -> (record: AccountRecord, caller: TokenClaims) {
        let claims = try await authorizer.caller(rpc.header)
        let admin = operatorMayAct && claims.has(.identityAdministrator) && claims.tenant == TokenClaims.systemTenant
        guard let record = try await manager.registry.lookup(account), record.info.tenant == claims.tenant || admin else {
            throw RPCStatus(.notFound, "account '\(account)' does not exist")
        }
        guard authorizer.canManage(claims, record) || admin else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' is not an owner of account '\(account)'; \(rpc.header.method) needs the accountOwner role")
        }
        return (record, claims)
    }

    func readable(_ account: String, _ rpc: RPCContext) async throws -> AccountRecord {
        let claims = try await authorizer.caller(rpc.header)
        guard let record = try await manager.registry.lookup(account), authorizer.canRead(claims, record) else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' has no access to account '\(account)' (or it does not exist)")
        }
        return record
    }
}
