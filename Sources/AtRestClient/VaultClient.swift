import AtRestWire

/// Typed calls to `atrest.v1.KeyVault/*` (directly or through the front door).
public struct VaultClient: Sendable {
    public let base: ServiceClient

    public init(_ base: ServiceClient) { self.base = base }

    /// `tenant`: empty = the caller's; another tenant only for a service (managed keys) or the system administrator.
    public func createKey(provider: String, _ spec: KeySpec, tenant: String = "") async throws -> KeyInfo {
        try await base.call(KeyVaultMethod.createKey, CreateKeyRequest(provider: provider, spec: spec, tenant: tenant)).key
    }

    public func importKey(provider: String, _ spec: KeySpec, envelope: [UInt8]) async throws -> KeyInfo {
        try await base.call(KeyVaultMethod.importKey, ImportKeyRequest(create: CreateKeyRequest(provider: provider, spec: spec), envelope: envelope)).key
    }

    /// Imports the 32-byte key in `keyFile` (`KeyImportEnvelope.readKeyFile`) as a new key:
    /// sealed on this side to the vault's import public key, so it never travels in clear.
    public func importKey(provider: String, _ spec: KeySpec, keyFile: String) async throws -> KeyInfo {
        let material = try KeyImportEnvelope.readKeyFile(keyFile)
        let envelope = try KeyImportEnvelope.seal(material, keyID: spec.keyID, vaultPublicKey: try await importPublicKey())
        return try await importKey(provider: provider, spec, envelope: envelope)
    }

    public func importPublicKey() async throws -> [UInt8] {
        try await base.call(KeyVaultMethod.getImportKey, GetImportKeyRequest(), idempotent: true).publicKey
    }

    public func getKey(_ key: KeyRef) async throws -> KeyInfo {
        try await base.call(KeyVaultMethod.getKey, KeyRequest(key), idempotent: true).key
    }

    public func listKeys(provider: String = "") async throws -> [KeyInfo] {
        try await base.call(KeyVaultMethod.listKeys, ListKeysRequest(provider: provider), idempotent: true).keys
    }

    public func rotateKey(_ key: KeyRef, envelope: [UInt8] = []) async throws -> KeyInfo {
        try await base.call(KeyVaultMethod.rotateKey, RotateKeyRequest(key, envelope: envelope)).key
    }

    /// BYOK rotation: the key in `keyFile` becomes the new current version (sealed
    /// like an import, to the key's plain name, which the vault checks).
    public func rotateKey(_ key: KeyRef, keyFile: String) async throws -> KeyInfo {
        let material = try KeyImportEnvelope.readKeyFile(keyFile)
        let envelope = try KeyImportEnvelope.seal(material, keyID: QualifiedKeyID.name(of: key.keyID), vaultPublicKey: try await importPublicKey())
        return try await rotateKey(key, envelope: envelope)
    }

    /// Enable, Disable, Delete, Recover.
    public func change(_ verb: KeyChange, _ key: KeyRef) async throws -> KeyInfo {
        try await base.call(verb.method, KeyRequest(key)).key
    }

    public func purgeKey(_ key: KeyRef) async throws {
        _ = try await base.call(KeyVaultMethod.purgeKey, KeyRequest(key))
    }

    public func grantAccess(_ grant: AccessGrant) async throws -> [AccessGrant] {
        try await base.call(KeyVaultMethod.grantAccess, AccessRequest(grant)).grants
    }

    public func revokeAccess(_ grant: AccessGrant) async throws -> [AccessGrant] {
        try await base.call(KeyVaultMethod.revokeAccess, AccessRequest(grant)).grants
    }

    /// Tells the vault an account's managed identity moved to `tenant` (services only).
    public func accountMoved(_ move: VaultIdentityTenant) async throws {
        _ = try await base.call(KeyVaultMethod.accountMoved, move, idempotent: true)
    }

    /// Who may use `key` (principal, operations, and the account of a managed identity).
    public func listGrants(_ key: KeyRef) async throws -> [AccessGrant] {
        try await base.call(KeyVaultMethod.listGrants, KeyRequest(key), idempotent: true).grants
    }

    public func wrap(_ plaintext: [UInt8], with key: KeyRef, context: [UInt8] = []) async throws -> WrapResponse {
        try await base.call(KeyVaultMethod.wrap, WrapRequest(key: key, plaintext: plaintext, context: context))
    }

    /// Has the vault generate a random 32-byte account key and wrap it with
    /// `key`'s current version, bound to `context`; only the wrapped form
    /// comes back, so the caller never holds the key in clear. Needs a "wrap"
    /// grant on `key`; using the key later (Unwrap) needs an "unwrap" grant.
    public func generateWrappedKey(with key: KeyRef, context: [UInt8] = []) async throws -> WrapResponse {
        try await base.call(KeyVaultMethod.generateWrappedKey, GenerateWrappedKeyRequest(key: key, context: context))
    }

    public func unwrap(_ wrapped: [UInt8], context: [UInt8] = []) async throws -> UnwrapResponse {
        try await base.call(KeyVaultMethod.unwrap, UnwrapRequest(wrapped: wrapped, context: context), idempotent: true)
    }

    /// Re-wraps inside the vault; `target` nil: the current version of the same key.
    public func rewrap(_ wrapped: [UInt8], context: [UInt8] = [], to target: KeyRef? = nil) async throws -> WrapResponse {
        try await base.call(KeyVaultMethod.rewrap, RewrapRequest(wrapped: wrapped, context: context,
                                                            target: target ?? KeyRef(provider: "", keyID: "")))
    }

    public func keyStatus(_ key: KeyRef) async throws -> KeyStatus {
        try await base.call(KeyVaultMethod.keyStatus, KeyStatusRequest(key), idempotent: true)
    }

    public func registerReference(_ key: KeyRef) async throws -> UInt64 {
        try await base.call(KeyVaultMethod.registerReference, ReferenceRequest(key)).count
    }

    public func unregisterReference(_ key: KeyRef) async throws -> UInt64 {
        try await base.call(KeyVaultMethod.unregisterReference, ReferenceRequest(key)).count
    }

    /// Records an account key life-cycle event in the audit log (an account's managed identity).
    public func recordAccountEvent(_ event: String, key: KeyRef, detail: String) async throws {
        _ = try await base.call(KeyVaultMethod.recordAccountEvent, RecordAccountEventRequest(key: key, event: event, detail: detail))
    }

    public func auditLog(after: UInt64 = 0, limit: UInt32 = 0) async throws -> [AuditEntry] {
        try await base.call(KeyVaultMethod.getAuditLog, GetAuditLogRequest(afterSeq: after, limit: limit),
                            idempotent: true).entries
    }

    public func verifyAuditLog() async throws -> AuditVerification {
        try await base.call(KeyVaultMethod.verifyAuditLog, EmptyMessage(), idempotent: true).report
    }
}

/// The key state changes that take just a key reference.
public enum KeyChange: Sendable {
    case enable, disable, delete, recover

    public var method: RPCMethod<KeyRequest, KeyResponse> {
        switch self {
        case .enable: KeyVaultMethod.enableKey
        case .disable: KeyVaultMethod.disableKey
        case .delete: KeyVaultMethod.deleteKey
        case .recover: KeyVaultMethod.recoverKey
        }
    }
}
