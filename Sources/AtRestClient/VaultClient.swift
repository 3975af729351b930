import AtRestKeyVault
import AtRestWire

/// Typed calls to `atrest.v1.KeyVault/*` (directly or through the front door).
public struct VaultClient: Sendable {
    public let base: ServiceClient

    public init(_ base: ServiceClient) { self.base = base }

    private func method(_ verb: String) -> String { KeyVaultService.prefix + verb }

    /// `tenant`: empty = the caller's; another tenant only for a service (managed keys) or the system administrator.
    public func createKey(provider: String, _ spec: KeySpec, tenant: String = "") async throws -> KeyInfo {
        try await base.call(method("CreateKey"), CreateKeyRequest(provider: provider, spec: spec, tenant: tenant), as: KeyResponse.self).key
    }

    public func importKey(provider: String, _ spec: KeySpec, envelope: [UInt8]) async throws -> KeyInfo {
        try await base.call(method("ImportKey"), ImportKeyRequest(create: CreateKeyRequest(provider: provider, spec: spec), envelope: envelope),
                            as: KeyResponse.self).key
    }

    public func importPublicKey() async throws -> [UInt8] {
        try await base.call(method("GetImportKey"), GetImportKeyRequest(), as: GetImportKeyResponse.self, idempotent: true).publicKey
    }

    public func getKey(_ key: KeyRef) async throws -> KeyInfo {
        try await base.call(method("GetKey"), KeyRequest(key), as: KeyResponse.self, idempotent: true).key
    }

    public func listKeys(provider: String = "") async throws -> [KeyInfo] {
        try await base.call(method("ListKeys"), ListKeysRequest(provider: provider), as: ListKeysResponse.self, idempotent: true).keys
    }

    public func rotateKey(_ key: KeyRef, envelope: [UInt8] = []) async throws -> KeyInfo {
        try await base.call(method("RotateKey"), RotateKeyRequest(key, envelope: envelope), as: KeyResponse.self).key
    }

    /// Enable, Disable, Delete, Recover.
    public func change(_ verb: KeyChange, _ key: KeyRef) async throws -> KeyInfo {
        try await base.call(method(verb.rawValue), KeyRequest(key), as: KeyResponse.self).key
    }

    public func purgeKey(_ key: KeyRef) async throws {
        _ = try await base.call(method("PurgeKey"), KeyRequest(key), as: EmptyMessage.self)
    }

    public func grantAccess(_ grant: AccessGrant) async throws -> [AccessGrant] {
        try await base.call(method("GrantAccess"), AccessRequest(grant), as: AccessResponse.self).grants
    }

    public func revokeAccess(_ grant: AccessGrant) async throws -> [AccessGrant] {
        try await base.call(method("RevokeAccess"), AccessRequest(grant), as: AccessResponse.self).grants
    }

    /// Tells the vault an account's managed identity moved to `tenant` (services only).
    public func accountMoved(_ move: IdentityTenant) async throws {
        _ = try await base.call(method("AccountMoved"), move, as: EmptyMessage.self, idempotent: true)
    }

    /// Who may use `key` (principal, operations, and the account of a managed identity).
    public func listGrants(_ key: KeyRef) async throws -> [AccessGrant] {
        try await base.call(method("ListGrants"), KeyRequest(key), as: AccessResponse.self, idempotent: true).grants
    }

    public func wrap(_ plaintext: [UInt8], with key: KeyRef, context: [UInt8] = []) async throws -> WrapResponse {
        try await base.call(method("Wrap"), WrapRequest(key: key, plaintext: plaintext, context: context))
    }

    /// Has the vault generate a random 32-byte account key and wrap it with
    /// `key`'s current version, bound to `context`; only the wrapped form
    /// comes back, so the caller never holds the key in clear. Needs a "wrap"
    /// grant on `key`; using the key later (Unwrap) needs an "unwrap" grant.
    public func generateWrappedKey(with key: KeyRef, context: [UInt8] = []) async throws -> WrapResponse {
        try await base.call(method("GenerateWrappedKey"), GenerateWrappedKeyRequest(key: key, context: context))
    }

    public func unwrap(_ wrapped: [UInt8], context: [UInt8] = []) async throws -> UnwrapResponse {
        try await base.call(method("Unwrap"), UnwrapRequest(wrapped: wrapped, context: context), idempotent: true)
    }

    /// Re-wraps inside the vault; `target` nil: the current version of the same key.
    public func rewrap(_ wrapped: [UInt8], context: [UInt8] = [], to target: KeyRef? = nil) async throws -> WrapResponse {
        try await base.call(method("Rewrap"), RewrapRequest(wrapped: wrapped, context: context,
                                                            target: target ?? KeyRef(provider: "", keyID: "")))
    }

    public func keyStatus(_ key: KeyRef) async throws -> KeyStatus {
        try await base.call(method("KeyStatus"), KeyStatusRequest(key), idempotent: true)
    }

    public func registerReference(_ key: KeyRef) async throws -> UInt64 {
        try await base.call(method("RegisterReference"), ReferenceRequest(key), as: ReferenceResponse.self).count
    }

    public func unregisterReference(_ key: KeyRef) async throws -> UInt64 {
        try await base.call(method("UnregisterReference"), ReferenceRequest(key), as: ReferenceResponse.self).count
    }

    public func auditLog(after: UInt64 = 0, limit: UInt32 = 0) async throws -> [AuditEntry] {
        try await base.call(method("GetAuditLog"), GetAuditLogRequest(afterSeq: after, limit: limit), as: GetAuditLogResponse.self,
                            idempotent: true).entries
    }

    public func verifyAuditLog() async throws -> AuditVerification {
        try await base.call(method("VerifyAuditLog"), EmptyMessage(), as: VerifyAuditLogResponse.self, idempotent: true).report
    }
}

/// The key state changes that take just a key reference.
public enum KeyChange: String, Sendable {
    case enable = "EnableKey", disable = "DisableKey", delete = "DeleteKey", recover = "RecoverKey"
}
