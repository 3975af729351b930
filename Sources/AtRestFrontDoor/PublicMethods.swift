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

    static let accountPrefix = AccountMethod.service + "/"
    static let identityPrefix = IdentityMethod.service + "/"
    static let vaultPrefix = KeyVaultMethod.service + "/"

    static let forwarded: [String: Upstream] = {
        var table: [String: Upstream] = [:]
        let identity = [IdentityMethod.login.info, IdentityMethod.keys.info, IdentityMethod.whoAmI.info, IdentityMethod.createTenant.info,
                        IdentityMethod.createUser.info, IdentityMethod.createServicePrincipal.info, IdentityMethod.grantRole.info,
                        IdentityMethod.revokeRole.info, IdentityMethod.rotateSigningKey.info, IdentityMethod.listTenants.info,
                        IdentityMethod.listPrincipals.info]
        for method in identity { table[method.name] = .identity }
        let vault = [KeyVaultMethod.createKey.info, KeyVaultMethod.importKey.info, KeyVaultMethod.getImportKey.info,
                     KeyVaultMethod.getKey.info, KeyVaultMethod.listKeys.info, KeyVaultMethod.rotateKey.info,
                     KeyVaultMethod.enableKey.info, KeyVaultMethod.disableKey.info, KeyVaultMethod.deleteKey.info,
                     KeyVaultMethod.recoverKey.info, KeyVaultMethod.purgeKey.info, KeyVaultMethod.grantAccess.info,
                     KeyVaultMethod.revokeAccess.info, KeyVaultMethod.listGrants.info, KeyVaultMethod.keyStatus.info,
                     KeyVaultMethod.getAuditLog.info, KeyVaultMethod.verifyAuditLog.info]
        for method in vault { table[method.name] = .vault }
        return table
    }()

    /// Known service methods, refused with a message that says where they are served.
    static let serviceOnly: Set<String> = Set([
        IdentityMethod.createManagedIdentity.info, IdentityMethod.managedIdentityToken.info, IdentityMethod.accountIdentity.info,
        IdentityMethod.moveAccount.info,
        KeyVaultMethod.wrap.info, KeyVaultMethod.unwrap.info, KeyVaultMethod.generateWrappedKey.info, KeyVaultMethod.rewrap.info,
        KeyVaultMethod.registerReference.info, KeyVaultMethod.unregisterReference.info, KeyVaultMethod.accountMoved.info,
        KeyVaultMethod.recordAccountEvent.info,
    ].map(\.name))

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
