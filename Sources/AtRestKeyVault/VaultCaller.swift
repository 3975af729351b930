import AtRestWire

/// Who is calling: built by the service from a verified bearer token
/// (`TokenClaims`); tests and in-process users build it directly.
public struct VaultCaller: Sendable, Equatable, CustomStringConvertible {
    public var principalID: String
    public var tenantID: String
    public var roles: Set<String>
    /// For an account's managed identity: the account (the token's `acct`).
    public var accountID: String

    public init(principalID: String, tenantID: String = "", roles: Set<String> = [], accountID: String = "") {
        self.principalID = principalID
        self.tenantID = tenantID
        self.roles = roles
        self.accountID = accountID
    }

    public var description: String {
        accountID.isEmpty ? "principal '\(principalID)'" : "managed identity '\(principalID)' of account '\(accountID)'"
    }

    /// The vault itself (automatic rotation); never granted over the wire.
    static let system = VaultCaller(principalID: "system:rotation-policy")
}
