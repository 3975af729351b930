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

    /// Switches the key that wraps the account key: `managed`, or `customer` with a key
    /// the account's managed identity may wrap and unwrap with. Nothing is re-encrypted.
    public func setEncryption(_ account: String, keySource: String, provider: String = "", keyID: String = "") async throws
        -> AccountEncryption
    {
        try await base.call(AccountMethod.setEncryption,
                            AccountSetEncryptionRequest(accountID: account, keySource: keySource, provider: provider, keyID: keyID))
    }
}
