import AtRestWire

/// Typed calls to `atrest.v1.Account/*` (answered by the front door).
public struct AccountClient: Sendable {
    public static let prefix = "atrest.v1.Account/"
    public let base: ServiceClient

    public init(_ base: ServiceClient) { self.base = base }

    /// Creates an account; the caller becomes its owner. Encryption is on from the start (managed key).
    public func create(_ account: String) async throws -> AccountInfo {
        try await base.call(Self.prefix + "Create", AccountCreateRequest(accountID: account))
    }

    public func get(_ account: String) async throws -> AccountInfo {
        try await base.call(Self.prefix + "Get", AccountRequest(accountID: account), idempotent: true)
    }

    /// Accounts the caller owns or reads.
    public func list() async throws -> [AccountInfo] {
        try await base.call(Self.prefix + "List", AccountListRequest(), as: AccountListResponse.self, idempotent: true).accounts
    }

    public func encryption(_ account: String) async throws -> AccountEncryption {
        try await base.call(Self.prefix + "GetEncryption", AccountRequest(accountID: account), idempotent: true)
    }

    /// Moves the account to another tenant (the system tenant's identity administrator).
    public func move(_ account: String, to tenant: String) async throws -> AccountMoveResponse {
        try await base.call(Self.prefix + "Move", AccountMoveRequest(accountID: account, tenant: tenant))
    }

    /// Switches the key that wraps the account key: `managed`, or `customer` with a key
    /// the account's managed identity may wrap and unwrap with. Nothing is re-encrypted.
    public func setEncryption(_ account: String, keySource: String, provider: String = "", keyID: String = "") async throws
        -> AccountEncryption
    {
        try await base.call(Self.prefix + "SetEncryption",
                            AccountSetEncryptionRequest(accountID: account, keySource: keySource, provider: provider, keyID: keyID))
    }
}
