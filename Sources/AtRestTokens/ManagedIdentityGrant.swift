import AtRestTokens
import AtRestWire

/// What the vault records when a customer key is granted to an account's
/// managed identity: the identity *and the tenant it was in*.
///
/// Moving an account to another tenant keeps its managed identity's id but
/// changes its tenant, so a grant made before the move no longer matches; the
/// vault calls `check` with the caller's verified token (or the account's
/// current identity from `AccountIdentity`) and gets an error that says what
/// happened and how to repair it, instead of a bare "access denied".
public struct ManagedIdentityGrant: Sendable, Equatable, Codable {
    public var principalID: String
    public var tenant: String
    public var accountID: String

    public init(principalID: String, tenant: String, accountID: String) {
        self.principalID = principalID
        self.tenant = tenant
        self.accountID = accountID
    }

    /// A grant for the identity as it is now.
    public init(_ identity: IdentityManagedIdentity) {
        self.init(principalID: identity.principalID, tenant: identity.tenant, accountID: identity.accountID)
    }

    /// Checks a caller's verified token against this grant for key `keyName`.
    /// PERMISSION_DENIED for another principal; FAILED_PRECONDITION (reason
    /// `grantTenantMismatch`) when the account moved to another tenant.
    public func check(_ claims: TokenClaims, keyName: String) throws(RPCStatus) {
        try check(principalID: claims.subject, tenant: claims.tenant, keyName: keyName)
    }

    /// Checks the account's current managed identity against this grant.
    public func check(current identity: IdentityManagedIdentity, keyName: String) throws(RPCStatus) {
        try check(principalID: identity.principalID, tenant: identity.tenant, keyName: keyName)
    }

    /// Checks a caller known by principal id and tenant (the vault's `VaultCaller`).
    public func check(principalID caller: String, tenant callerTenant: String, keyName: String) throws(RPCStatus) {
        guard caller == principalID else {
            throw RPCStatus(.permissionDenied,
                            "key '\(keyName)' is granted to the managed identity '\(principalID)' of account '\(accountID)', not to principal '\(caller)'")
        }
        guard callerTenant == tenant else {
            throw RPCStatus(
                .failedPrecondition,
                "key '\(keyName)' was granted to the managed identity '\(principalID)' of account '\(accountID)' in tenant '\(tenant)', "
                    + "but the account now belongs to tenant '\(callerTenant)', so that grant no longer applies. "
                    + "Repair: re-grant key '\(keyName)' to account '\(accountID)''s managed identity in tenant '\(callerTenant)', then revoke the old grant.",
                details: ["reason": "grantTenantMismatch", "account": accountID, "grantTenant": tenant, "currentTenant": callerTenant])
        }
    }

    /// The notice MoveAccount returns, so the operator learns about grants before anything fails.
    package static func moveNotice(account: String, identity: String, from: String, to: String) -> String {
        "account '\(account)' moved from tenant '\(from)' to '\(to)'; customer-managed key grants made to its managed identity '\(identity)' in tenant '\(from)' no longer apply: re-grant those keys to the account's managed identity in tenant '\(to)'"
    }
}
