import AtRestWire

/// Typed calls to `atrest.v1.Account/*` (answered by the front door).
public struct AccountClient: Sendable {
    public let base: ServiceClient

    public init(_ base: ServiceClient) { self.base = base }

    /// Creates an account; the caller becomes its owner. Encryption is on from
    /// the start (managed key). `redundancy`: copies of every object (0: the deployment's default).
    /// `infrastructureEncryption`: seal everything twice, the second time under an independent service-held key.
    public func create(_ account: String, redundancy: UInt32 = 0, infrastructureEncryption: Bool = false) async throws -> AccountInfo {
        try await base.call(AccountMethod.create, AccountCreateRequest(accountID: account, redundancy: redundancy,
                                                                      infrastructureEncryption: infrastructureEncryption))
    }

    public func get(_ account: String) async throws -> AccountInfo {
        try await base.call(AccountMethod.get, AccountRequest(accountID: account), idempotent: true)
    }

    /// Accounts the caller owns or reads.
    public func list() async throws -> [AccountInfo] {
        try await base.call(AccountMethod.list, AccountListRequest(), idempotent: true).accounts
    }

    public func encryption(_ account: String) async throws -> AccountEncryption {
        try await base.call(AccountMethod.getEncryption, AccountRequest(accountID: account), idempotent: true)
    }

    /// Moves the account to another tenant (the system tenant's identity administrator).
    public func move(_ account: String, to tenant: String) async throws -> AccountMoveResponse {
        try await base.call(AccountMethod.move, AccountMoveRequest(accountID: account, tenant: tenant))
    }

    /// Deletes the account: refused while it holds data unless `force`; recoverable
    /// until `purgeAfterUnix`, then its account key is destroyed (docs/DATA-PATH.md).
    public func delete(_ account: String, force: Bool = false) async throws -> AccountInfo {
        try await base.call(AccountMethod.delete, AccountDeleteRequest(accountID: account, force: force))
    }

    /// Undoes `delete` before the purge.
    public func recover(_ account: String) async throws -> AccountInfo {
        try await base.call(AccountMethod.recover, AccountRequest(accountID: account))
    }

    /// Switches the key that wraps the account key: `managed`, or `customer` with a key
    /// the account's managed identity may wrap and unwrap with. Nothing is re-encrypted.
    public func setEncryption(_ account: String, keySource: String, provider: String = "", keyID: String = "") async throws
        -> AccountEncryption
    {
        try await base.call(AccountMethod.setEncryption,
                            AccountSetEncryptionRequest(accountID: account, keySource: keySource, provider: provider, keyID: keyID))
    }

    /// Creates an encryption scope: `managed` (wrapped by the account's managed
    /// key) or `customer` with a key the account's managed identity may wrap and unwrap with.
    public func createScope(_ account: String, _ scope: String, keySource: String, provider: String = "", keyID: String = "") async throws
        -> EncryptionScope
    {
        try await base.call(AccountMethod.createScope,
                            AccountScopeCreateRequest(accountID: account, scope: scope, keySource: keySource, provider: provider, keyID: keyID))
    }

    public func scope(_ account: String, _ scope: String) async throws -> EncryptionScope {
        try await base.call(AccountMethod.getScope, AccountScopeRequest(accountID: account, scope: scope), idempotent: true)
    }

    public func scopes(_ account: String) async throws -> [EncryptionScope] {
        try await base.call(AccountMethod.listScopes, AccountRequest(accountID: account), idempotent: true).scopes
    }

    /// Disables (`enabled` false) or enables a scope: calls needing its key fail while disabled.
    public func setScope(_ account: String, _ scope: String, enabled: Bool) async throws -> EncryptionScope {
        try await base.call(enabled ? AccountMethod.enableScope : AccountMethod.disableScope,
                            AccountScopeRequest(accountID: account, scope: scope))
    }

    /// Gives the account a new account key version (new writes use it; older objects stay readable).
    public func rotateKey(_ account: String) async throws -> AccountEncryption {
        try await base.call(AccountMethod.rotateKey, AccountRequest(accountID: account))
    }
}
