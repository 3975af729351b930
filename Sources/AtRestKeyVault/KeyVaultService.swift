import AtRestCrypto
import AtRestWire

/// The vault's RPC method table (`KeyVaultMethod`, "atrest.v1.KeyVault/<Verb>") over a `KeyVault`.
///
/// Who is calling comes from `authenticate`, which turns a request header into
/// a `VaultCaller`; the service executable plugs in token verification there
/// (it throws UNAUTHENTICATED for a missing or bad token). Tests call
/// `router.handle(_:)` in-process.
public struct KeyVaultService: Sendable {
    public typealias Authenticate = @Sendable (RPCHeader) async throws -> VaultCaller
    /// Finds an account's managed identity (principal id, tenant) for a
    /// GrantAccess that names only the account; the executable asks the
    /// identity service (`AccountIdentity`).
    public typealias ResolveAccount = @Sendable (_ accountID: String) async throws -> (principalID: String, tenant: String)

    public let vault: KeyVault
    public let router: RPCRouter

    public init(vault: KeyVault, authenticate: @escaping Authenticate, resolveAccount: ResolveAccount? = nil) {
        self.vault = vault
        router = Self.makeRouter(vault, authenticate, resolveAccount)
    }

    /// Opens the vault from `config` and builds the router (what the executable calls).
    public init(config: KeyVaultConfiguration, events: any KeyEventSink = NoKeyEvents(), authenticate: @escaping Authenticate) throws(VaultError) {
        self.init(vault: try KeyVault(config: config, events: events), authenticate: authenticate)
    }

    private static func makeRouter(_ vault: KeyVault, _ authenticate: @escaping Authenticate, _ resolveAccount: ResolveAccount?) -> RPCRouter {
        var router = RPCRouter()
        /// Registers one method: authenticates, runs the vault call, maps `VaultError` to its status.
        func add<Request: WireMessage, Reply: WireMessage>(
            _ method: RPCMethod<Request, Reply>, _ body: @escaping @Sendable (KeyVault, Request, VaultCaller, [UInt8]) throws(VaultError) -> Reply
        ) {
            router.register(method) { (request: Request, context: RPCContext) async throws -> Reply in
                let caller = try await authenticate(context.header)
                do throws(VaultError) { return try body(vault, request, caller, context.header.callID) } catch { throw error.rpcStatus }
            }
        }
        add(KeyVaultMethod.createKey) { v, r, c, id throws(VaultError) in
            KeyResponse(try v.createKey(provider: r.provider, r.spec, tenant: r.tenant, caller: c, callID: id))
        }
        add(KeyVaultMethod.importKey) { v, r, c, id throws(VaultError) in
            KeyResponse(try v.importKey(provider: r.create.provider, r.create.spec, tenant: r.create.tenant, envelope: r.envelope, caller: c, callID: id))
        }
        add(KeyVaultMethod.getImportKey) { v, _, _, _ throws(VaultError) in GetImportKeyResponse(publicKey: v.importPublicKey) }
        add(KeyVaultMethod.getKey) { v, r, c, id throws(VaultError) in KeyResponse(try v.getKey(r.key, caller: c, callID: id)) }
        add(KeyVaultMethod.listKeys) { v, r, c, id throws(VaultError) in
            ListKeysResponse(keys: try v.listKeys(provider: r.provider, caller: c, callID: id))
        }
        add(KeyVaultMethod.rotateKey) { v, r, c, id throws(VaultError) in
            KeyResponse(try v.rotateKey(r.key, envelope: r.envelope, caller: c, callID: id))
        }
        add(KeyVaultMethod.enableKey) { v, r, c, id throws(VaultError) in KeyResponse(try v.setEnabled(r.key, true, caller: c, callID: id)) }
        add(KeyVaultMethod.disableKey) { v, r, c, id throws(VaultError) in KeyResponse(try v.setEnabled(r.key, false, caller: c, callID: id)) }
        add(KeyVaultMethod.deleteKey) { v, r, c, id throws(VaultError) in KeyResponse(try v.deleteKey(r.key, caller: c, callID: id)) }
        add(KeyVaultMethod.recoverKey) { v, r, c, id throws(VaultError) in KeyResponse(try v.recoverKey(r.key, caller: c, callID: id)) }
        add(KeyVaultMethod.purgeKey) { v, r, c, id throws(VaultError) in
            try v.purgeKey(r.key, caller: c, callID: id)
            return EmptyMessage()
        }
        /// Grants and revocations that name an account apply to its managed identity as it is now.
        @Sendable func resolveGrant(_ grant: AccessGrant, caller: VaultCaller) async throws -> AccessGrant {
            guard !grant.accountID.isEmpty else { return grant }
            guard let resolveAccount else {
                throw RPCStatus(.failedPrecondition, "this vault has no identity service configured, so it cannot resolve account '\(grant.accountID)'; name the managed identity's principal id instead")
            }
            try vault.requireRole(caller, [vault.config.adminRole], for: "change key access")
            let identity = try await resolveAccount(grant.accountID)
            if !grant.principalID.isEmpty, grant.principalID != identity.principalID {
                throw RPCStatus(.invalidArgument, "principal '\(grant.principalID)' is not the managed identity of account '\(grant.accountID)'")
            }
            var grant = grant
            grant.principalID = identity.principalID
            grant.tenant = identity.tenant
            return grant
        }
        for (method, add) in [(KeyVaultMethod.grantAccess, true), (KeyVaultMethod.revokeAccess, false)] {
            router.register(method) { (request: AccessRequest, context: RPCContext) async throws -> AccessResponse in
                let caller = try await authenticate(context.header)
                let grant = try await resolveGrant(request.grant, caller: caller)
                do throws(VaultError) {
                    let id = context.header.callID
                    return AccessResponse(grants: add ? try vault.grantAccess(grant, caller: caller, callID: id) : try vault.revokeAccess(grant, caller: caller, callID: id))
                } catch { throw error.rpcStatus }
            }
        }
        add(KeyVaultMethod.accountMoved) { v, r, c, id throws(VaultError) in
            try v.accountMoved(r, caller: c, callID: id)
            return EmptyMessage()
        }
        add(KeyVaultMethod.listGrants) { v, r, c, id throws(VaultError) in
            AccessResponse(grants: try v.listGrants(r.key, caller: c, callID: id))
        }
        add(KeyVaultMethod.wrap) { v, r, c, id throws(VaultError) in
            WrapResponse(try v.wrap(SecretBytes(r.plaintext), with: r.key, context: r.context, caller: c, callID: id))
        }
        add(KeyVaultMethod.generateWrappedKey) { v, r, c, id throws(VaultError) in
            WrapResponse(try v.generateWrappedKey(with: r.key, context: r.context, caller: c, callID: id))
        }
        add(KeyVaultMethod.unwrap) { v, r, c, id throws(VaultError) in
            let (key, ref) = try v.unwrap(r.wrapped, context: r.context, caller: c, callID: id)
            return UnwrapResponse(plaintext: key.withUnsafeBytes { Array($0) }, key: ref)
        }
        add(KeyVaultMethod.rewrap) { v, r, c, id throws(VaultError) in
            WrapResponse(try v.rewrap(r.wrapped, context: r.context, to: r.target, caller: c, callID: id))
        }
        add(KeyVaultMethod.keyStatus) { v, r, c, id throws(VaultError) in try v.keyStatus(r.key, caller: c, callID: id) }
        add(KeyVaultMethod.registerReference) { v, r, c, id throws(VaultError) in
            ReferenceResponse(count: try v.registerReference(r.key, caller: c, callID: id))
        }
        add(KeyVaultMethod.unregisterReference) { v, r, c, id throws(VaultError) in
            ReferenceResponse(count: try v.unregisterReference(r.key, caller: c, callID: id))
        }
        add(KeyVaultMethod.getAuditLog) { v, r, c, _ throws(VaultError) in
            GetAuditLogResponse(entries: try v.auditEntries(after: r.afterSeq, limit: r.limit == 0 ? 1000 : Int(r.limit), caller: c))
        }
        add(KeyVaultMethod.verifyAuditLog) { v, _, c, _ throws(VaultError) in VerifyAuditLogResponse(try v.verifyAuditLog(caller: c)) }
        add(KeyVaultMethod.recordAccountEvent) { v, r, c, id throws(VaultError) in
            try v.recordAccountEvent(r, caller: c, callID: id)
            return EmptyMessage()
        }
        return router
    }
}
