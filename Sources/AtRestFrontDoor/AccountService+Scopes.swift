import AtRestWire

/// `Account/*Scope*`: owners create, disable and enable scopes; readers get and list them.
extension AccountService {
    func registerScopeMethods(_ router: inout RPCRouter) {
        router.register(AccountMethod.createScope) { (request: AccountScopeCreateRequest, rpc) async throws -> EncryptionScope in
            try await owned(request.accountID, rpc)
            return try await manager.createScope(request)
        }
        router.register(AccountMethod.getScope) { (request: AccountScopeRequest, rpc) async throws -> EncryptionScope in
            guard let scope = try await readable(request.accountID, rpc).scope(request.scope) else {
                throw RPCStatus(.notFound, "scope '\(request.scope.prefix(80))' does not exist in account '\(request.accountID)'")
            }
            return scope
        }
        router.register(AccountMethod.listScopes) { (request: AccountRequest, rpc) async throws -> AccountScopeListResponse in
            let record = try await readable(request.accountID, rpc)
            return AccountScopeListResponse(scopes: record.scopes.compactMap { record.scope($0.name) })
        }
        router.register(AccountMethod.disableScope) { (request: AccountScopeRequest, rpc) async throws -> EncryptionScope in
            try await owned(request.accountID, rpc)
            return try await manager.setScopeEnabled(request, false)
        }
        router.register(AccountMethod.enableScope) { (request: AccountScopeRequest, rpc) async throws -> EncryptionScope in
            try await owned(request.accountID, rpc)
            return try await manager.setScopeEnabled(request, true)
        }
    }
}
