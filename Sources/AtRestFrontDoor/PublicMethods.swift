import AtRestWire

/// What the public endpoint does with each identity and vault method: an
/// explicit allow-list. A method not in `forwarded` is never forwarded,
/// whoever calls it (default deny); `serviceOnly` only gives the known
/// service methods a clearer refusal.
///
/// Forwarded: what users, tenant administrators and the CLI call (log in,
/// WhoAmI, Keys, tenant/user/role administration, customer key management,
/// key status, the audit log). Service-only: managed identities and their
/// tokens, account moves, key references and everything that makes, wraps
/// or unwraps account keys. Services call those on the identity's and the
/// vault's own endpoints; a leaked service secret used through the front
/// door reaches none of them. `Account/*` is the front door's own router,
/// written for the public endpoint: all of it is served (it checks callers).
enum PublicMethods {
    enum Upstream: Sendable { case account, identity, vault }

    static let accountPrefix = "atrest.v1.Account/"
    static let identityPrefix = "atrest.v1.Identity/"
    static let vaultPrefix = "atrest.v1.KeyVault/"

    static let forwarded: [String: Upstream] = {
        var table: [String: Upstream] = [:]
        for verb in ["Login", "Keys", "WhoAmI", "CreateTenant", "CreateUser", "CreateServicePrincipal",
                     "GrantRole", "RevokeRole", "RotateSigningKey"] {
            table[identityPrefix + verb] = .identity
        }
        for verb in ["CreateKey", "ImportKey", "GetImportKey", "GetKey", "ListKeys", "RotateKey", "EnableKey",
                     "DisableKey", "DeleteKey", "RecoverKey", "PurgeKey", "GrantAccess", "RevokeAccess",
                     "ListGrants", "KeyStatus", "GetAuditLog", "VerifyAuditLog"] {
            table[vaultPrefix + verb] = .vault
        }
        return table
    }()

    /// Known service methods, refused with a message that says where they are served.
    static let serviceOnly: Set<String> = Set(
        ["CreateManagedIdentity", "ManagedIdentityToken", "AccountIdentity", "MoveAccount"].map { identityPrefix + $0 }
        + ["Wrap", "Unwrap", "GenerateWrappedKey", "Rewrap", "RegisterReference", "UnregisterReference", "AccountMoved"].map { vaultPrefix + $0 })

    /// Who answers `method`, or the status that refuses it.
    static func upstream(for method: String) throws(RPCStatus) -> Upstream {
        if let upstream = forwarded[method] { return upstream }
        if method.hasPrefix(accountPrefix) { return .account }
        if serviceOnly.contains(method) {
            throw RPCStatus(.permissionDenied, "\(method) is for AtRest services only and is not served at the public endpoint "
                            + "(whatever the token); services call it on the \(method.hasPrefix(identityPrefix) ? "identity service's" : "key vault's") own endpoint",
                            details: ["reason": "serviceOnly"])
        }
        if method.hasPrefix(identityPrefix) || method.hasPrefix(vaultPrefix) {
            throw RPCStatus(.permissionDenied, "\(method) is not served at the public endpoint",
                            details: ["reason": "notPublic"])
        }
        throw RPCStatus(.unimplemented, "unknown method '\(method)'")
    }
}
