import AtRestWire

// Swift values for the messages of proto/atrest/v1/vault.proto.

/// (provider, key id, version): the address of one key version; version 0
/// means "the current version" where a request allows it.
public struct KeyRef: Sendable, Hashable, CustomStringConvertible, WireMessage {
    public static let protoName = "atrest.v1.KeyRef"
    public var provider: String
    public var keyID: String
    public var version: UInt32

    public init(provider: String, keyID: String, version: UInt32 = 0) {
        self.provider = provider
        self.keyID = keyID
        self.version = version
    }

    /// "customer/k1" or "customer/k1 version 3".
    public var description: String { version == 0 ? "\(provider)/\(keyID)" : "\(provider)/\(keyID) version \(version)" }
    public var unversioned: KeyRef { KeyRef(provider: provider, keyID: keyID) }

    public init(wire: WireFields) throws { self.init(provider: wire.string(1), keyID: wire.string(2), version: wire.uint32(3)) }
    public var wire: WireFields { [1: .string(provider), 2: .string(keyID), 3: .uint(version)] }
}

public struct ReferenceCount: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.VaultReferenceCount"
    public var key: KeyRef
    public var count: UInt64
    public init(key: KeyRef, count: UInt64) { self.key = key; self.count = count }
    public init(wire: WireFields) throws {
        self.init(key: try wire.message(1) ?? KeyRef(provider: "", keyID: ""), count: wire.uint64(2))
    }
    public var wire: WireFields { [1: WireValue(key), 2: .uint(count)] }
}

/// Operations a grant can allow.
public enum KeyOperation: String, Sendable, CaseIterable { case wrap, unwrap }

/// Which principal may wrap and/or unwrap with which key.
///
/// A grant to an account's managed identity also records the identity's
/// tenant and account at grant time (`tenant`, `accountID`): when the account
/// later moves to another tenant the grant stops applying, with the error
/// `ManagedIdentityGrant` words (what happened and how to re-grant).
public struct AccessGrant: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.VaultAccessGrant"
    public var key: KeyRef
    public var principalID: String
    public var operations: Set<KeyOperation>
    /// The managed identity's tenant when granted; empty for other principals.
    public var tenant: String
    /// The account whose managed identity holds the grant; empty for other principals.
    public var accountID: String

    public init(key: KeyRef, principalID: String, operations: Set<KeyOperation>, tenant: String = "", accountID: String = "") {
        self.key = key.unversioned
        self.principalID = principalID
        self.operations = operations
        self.tenant = tenant
        self.accountID = accountID
    }

    public init(wire: WireFields) throws {
        var operations: Set<KeyOperation> = []
        for name in wire.strings(4) {
            guard let op = KeyOperation(rawValue: name) else {
                throw VaultError(.invalidArgument, "unknown operation '\(name)' in a grant (known: wrap, unwrap)")
            }
            operations.insert(op)
        }
        self.init(key: KeyRef(provider: wire.string(1), keyID: wire.string(2)), principalID: wire.string(3), operations: operations,
                  tenant: wire.string(5), accountID: wire.string(6))
    }

    public var wire: WireFields {
        [1: .string(key.provider), 2: .string(key.keyID), 3: .string(principalID),
         4: .strings(operations.map(\.rawValue).sorted()), 5: .string(tenant), 6: .string(accountID)]
    }
}

public struct CreateKeyRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.CreateKeyRequest"
    public var provider: String
    public var spec: KeySpec
    /// The owning tenant; empty = the caller's (see `KeyVault.createKey`).
    public var tenant: String

    public init(provider: String, spec: KeySpec, tenant: String = "") { self.provider = provider; self.spec = spec; self.tenant = tenant }
    public init(wire: WireFields) throws {
        self.init(provider: wire.string(1), spec: KeySpec(
            keyID: wire.string(2), expiresAt: wire.int64(3), rotationDays: wire.uint32(4),
            retentionDays: wire.uint32(5), purgeProtection: wire.bool(6)), tenant: wire.string(7))
    }
    public var wire: WireFields {
        [1: .string(provider), 2: .string(spec.keyID), 3: .int(spec.expiresAt), 4: .uint(spec.rotationDays),
         5: .uint(spec.retentionDays), 6: .bool(spec.purgeProtection), 7: .string(tenant)]
    }
}

public struct ImportKeyRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ImportKeyRequest"
    public var create: CreateKeyRequest
    /// `ImportEnvelope.seal` output.
    public var envelope: [UInt8]

    public init(create: CreateKeyRequest, envelope: [UInt8]) { self.create = create; self.envelope = envelope }
    public init(wire: WireFields) throws {
        self.init(create: try wire.message(1) ?? CreateKeyRequest(provider: "", spec: KeySpec(keyID: "")), envelope: wire.bytes(2))
    }
    public var wire: WireFields { [1: WireValue(create), 2: .bytes(envelope)] }
}

public struct GetImportKeyResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.GetImportKeyResponse"
    public var publicKey: [UInt8]
    public var algorithm: String
    public init(publicKey: [UInt8], algorithm: String = "X25519-HMAC-SHA256-AES-256-GCM") {
        self.publicKey = publicKey
        self.algorithm = algorithm
    }
    public init(wire: WireFields) throws { self.init(publicKey: wire.bytes(1), algorithm: wire.string(2)) }
    public var wire: WireFields { [1: .bytes(publicKey), 2: .string(algorithm)] }
}

public struct GetImportKeyRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.GetImportKeyRequest"
    public init() {}
    public init(wire: WireFields) throws {}
    public var wire: WireFields { [:] }
}

/// Get, Enable, Disable, Delete, Recover, Purge.
public struct KeyRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.KeyRequest"
    public var key: KeyRef
    public init(_ key: KeyRef) { self.key = key }
    public init(wire: WireFields) throws { self.init(KeyRef(provider: wire.string(1), keyID: wire.string(2))) }
    public var wire: WireFields { [1: .string(key.provider), 2: .string(key.keyID)] }
}

public struct RotateKeyRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.RotateKeyRequest"
    public var key: KeyRef
    /// Empty: the provider generates the new version; else an import envelope.
    public var envelope: [UInt8]
    public init(_ key: KeyRef, envelope: [UInt8] = []) { self.key = key; self.envelope = envelope }
    public init(wire: WireFields) throws {
        self.init(KeyRef(provider: wire.string(1), keyID: wire.string(2)), envelope: wire.bytes(3))
    }
    public var wire: WireFields { [1: .string(key.provider), 2: .string(key.keyID), 3: .bytes(envelope)] }
}

public struct KeyResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.KeyResponse"
    public var key: KeyInfo
    public init(_ key: KeyInfo) { self.key = key }
    public init(wire: WireFields) throws {
        guard let key: KeyInfo = try wire.message(1) else { throw VaultError(.invalidArgument, "KeyResponse without a key") }
        self.init(key)
    }
    public var wire: WireFields { [1: WireValue(key)] }
}

public struct ListKeysRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ListKeysRequest"
    public var provider: String
    public init(provider: String = "") { self.provider = provider }
    public init(wire: WireFields) throws { self.init(provider: wire.string(1)) }
    public var wire: WireFields { [1: .string(provider)] }
}

public struct ListKeysResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ListKeysResponse"
    public var keys: [KeyInfo]
    public init(keys: [KeyInfo]) { self.keys = keys }
    public init(wire: WireFields) throws { self.init(keys: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(keys)] }
}

/// GrantAccess adds the operations; RevokeAccess removes them (all when empty).
public struct AccessRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccessRequest"
    public var grant: AccessGrant
    public init(_ grant: AccessGrant) { self.grant = grant }
    public init(wire: WireFields) throws {
        guard let grant: AccessGrant = try wire.message(1) else { throw VaultError(.invalidArgument, "AccessRequest without a grant") }
        self.init(grant)
    }
    public var wire: WireFields { [1: WireValue(grant)] }
}

public struct AccessResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.AccessResponse"
    public var grants: [AccessGrant]
    public init(grants: [AccessGrant]) { self.grants = grants }
    public init(wire: WireFields) throws { self.init(grants: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(grants)] }
}

public struct WrapRequest: Sendable, WireMessage {
    public static let protoName = "atrest.v1.WrapRequest"
    public var key: KeyRef
    public var plaintext: [UInt8]
    public var context: [UInt8]
    public init(key: KeyRef, plaintext: [UInt8], context: [UInt8] = []) {
        self.key = key
        self.plaintext = plaintext
        self.context = context
    }
    public init(wire: WireFields) throws {
        self.init(key: KeyRef(provider: wire.string(1), keyID: wire.string(2)), plaintext: wire.bytes(3), context: wire.bytes(4))
    }
    public var wire: WireFields { [1: .string(key.provider), 2: .string(key.keyID), 3: .bytes(plaintext), 4: .bytes(context)] }
}

public struct WrapResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.WrapResponse"
    public var wrapped: [UInt8]
    public var key: KeyRef
    public var checkValue: [UInt8]
    public init(wrapped: [UInt8], key: KeyRef, checkValue: [UInt8]) {
        self.wrapped = wrapped
        self.key = key
        self.checkValue = checkValue
    }
    public init(wire: WireFields) throws {
        self.init(wrapped: wire.bytes(1), key: try wire.message(2) ?? KeyRef(provider: "", keyID: ""), checkValue: wire.bytes(3))
    }
    public var wire: WireFields { [1: .bytes(wrapped), 2: WireValue(key), 3: .bytes(checkValue)] }
}

extension WrapResponse {
    /// The reply of Wrap, Rewrap and GenerateWrappedKey for a wrapped key.
    public init(_ wrapped: WrappedKey) {
        self.init(wrapped: wrapped.serialized, key: wrapped.key, checkValue: wrapped.checkValue)
    }
}

/// GenerateWrappedKey: the vault makes the account key and returns it only
/// wrapped (a `WrapResponse`); see `KeyVault.generateWrappedKey`.
public struct GenerateWrappedKeyRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.GenerateWrappedKeyRequest"
    public var key: KeyRef
    public var context: [UInt8]
    public init(key: KeyRef, context: [UInt8] = []) {
        self.key = key.unversioned
        self.context = context
    }
    public init(wire: WireFields) throws {
        self.init(key: KeyRef(provider: wire.string(1), keyID: wire.string(2)), context: wire.bytes(3))
    }
    public var wire: WireFields { [1: .string(key.provider), 2: .string(key.keyID), 3: .bytes(context)] }
}

public struct UnwrapRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.UnwrapRequest"
    public var wrapped: [UInt8]
    public var context: [UInt8]
    public init(wrapped: [UInt8], context: [UInt8] = []) { self.wrapped = wrapped; self.context = context }
    public init(wire: WireFields) throws { self.init(wrapped: wire.bytes(1), context: wire.bytes(2)) }
    public var wire: WireFields { [1: .bytes(wrapped), 2: .bytes(context)] }
}

public struct UnwrapResponse: Sendable, WireMessage {
    public static let protoName = "atrest.v1.UnwrapResponse"
    public var plaintext: [UInt8]
    public var key: KeyRef
    public init(plaintext: [UInt8], key: KeyRef) { self.plaintext = plaintext; self.key = key }
    public init(wire: WireFields) throws {
        self.init(plaintext: wire.bytes(1), key: try wire.message(2) ?? KeyRef(provider: "", keyID: ""))
    }
    public var wire: WireFields { [1: .bytes(plaintext), 2: WireValue(key)] }
}

/// Unwrap and wrap again inside the vault (KEK rotation, managed ↔ customer switch).
public struct RewrapRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.RewrapRequest"
    public var wrapped: [UInt8]
    public var context: [UInt8]
    /// Empty provider/key id: the current version of the key that wrapped the blob.
    public var target: KeyRef
    public init(wrapped: [UInt8], context: [UInt8] = [], target: KeyRef = KeyRef(provider: "", keyID: "")) {
        self.wrapped = wrapped
        self.context = context
        self.target = target.unversioned
    }
    public init(wire: WireFields) throws {
        self.init(wrapped: wire.bytes(1), context: wire.bytes(2), target: KeyRef(provider: wire.string(3), keyID: wire.string(4)))
    }
    public var wire: WireFields { [1: .bytes(wrapped), 2: .bytes(context), 3: .string(target.provider), 4: .string(target.keyID)] }
}

public struct KeyStatusRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.KeyStatusRequest"
    public var key: KeyRef
    public init(_ key: KeyRef) { self.key = key }
    public init(wire: WireFields) throws { self.init(try wire.message(1) ?? KeyRef(provider: "", keyID: "")) }
    public var wire: WireFields { [1: WireValue(key)] }
}

/// Whether the caller may still use a key (what a worker re-checks on a timer).
public struct KeyStatus: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.KeyStatusResponse"
    public var key: KeyRef
    public var state: String
    public var unwrapAllowed: Bool
    public var wrapAllowed: Bool
    /// Why not, when a flag is false.
    public var reason: String
    public var currentVersion: UInt32
    public init(key: KeyRef, state: String, unwrapAllowed: Bool, wrapAllowed: Bool, reason: String, currentVersion: UInt32) {
        self.key = key
        self.state = state
        self.unwrapAllowed = unwrapAllowed
        self.wrapAllowed = wrapAllowed
        self.reason = reason
        self.currentVersion = currentVersion
    }
    public init(wire: WireFields) throws {
        self.init(key: try wire.message(1) ?? KeyRef(provider: "", keyID: ""), state: wire.string(2), unwrapAllowed: wire.bool(3),
                  wrapAllowed: wire.bool(4), reason: wire.string(5), currentVersion: wire.uint32(6))
    }
    public var wire: WireFields {
        [1: WireValue(key), 2: .string(state), 3: .bool(unwrapAllowed), 4: .bool(wrapAllowed), 5: .string(reason), 6: .uint(currentVersion)]
    }
}

/// Register/UnregisterReference.
public struct ReferenceRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ReferenceRequest"
    public var key: KeyRef
    public init(_ key: KeyRef) { self.key = key }
    public init(wire: WireFields) throws { self.init(try wire.message(1) ?? KeyRef(provider: "", keyID: "")) }
    public var wire: WireFields { [1: WireValue(key)] }
}

public struct ReferenceResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.ReferenceResponse"
    public var count: UInt64
    public init(count: UInt64) { self.count = count }
    public init(wire: WireFields) throws { self.init(count: wire.uint64(1)) }
    public var wire: WireFields { [1: .uint(count)] }
}

public struct GetAuditLogRequest: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.GetAuditLogRequest"
    public var afterSeq: UInt64
    public var limit: UInt32
    public init(afterSeq: UInt64 = 0, limit: UInt32 = 0) { self.afterSeq = afterSeq; self.limit = limit }
    public init(wire: WireFields) throws { self.init(afterSeq: wire.uint64(1), limit: wire.uint32(2)) }
    public var wire: WireFields { [1: .uint(afterSeq), 2: .uint(limit)] }
}

public struct GetAuditLogResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.GetAuditLogResponse"
    public var entries: [AuditEntry]
    public init(entries: [AuditEntry]) { self.entries = entries }
    public init(wire: WireFields) throws { self.init(entries: try wire.messages(1)) }
    public var wire: WireFields { [1: .messages(entries)] }
}

public struct VerifyAuditLogResponse: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.VerifyAuditLogResponse"
    public var report: AuditVerification
    public init(_ report: AuditVerification) { self.report = report }
    public init(wire: WireFields) throws {
        self.init(AuditVerification(intact: wire.bool(1), entries: wire.uint64(2), firstBadLine: wire.uint64(3), problem: wire.string(4),
                                    gaps: try wire.messages(5)))
    }
    public var wire: WireFields {
        [1: .bool(report.intact), 2: .uint(report.entries), 3: .uint(report.firstBadLine), 4: .string(report.problem),
         5: .messages(report.gaps)]
    }
}

/// The vault's own persisted state (grants and reference counts), sealed on disk.
struct VaultStateMessage: Sendable, WireMessage {
    static let protoName = "atrest.v1.VaultState"
    var grants: [AccessGrant]
    var references: [ReferenceCount]
    var creators: [KeyCreator]
    var moved: [IdentityTenant]
    init(grants: [AccessGrant], references: [ReferenceCount], creators: [KeyCreator] = [], moved: [IdentityTenant] = []) {
        self.grants = grants
        self.references = references
        self.creators = creators
        self.moved = moved
    }
    init(wire: WireFields) throws {
        self.init(grants: try wire.messages(1), references: try wire.messages(2), creators: try wire.messages(3), moved: try wire.messages(4))
    }
    var wire: WireFields { [1: .messages(grants), 2: .messages(references), 3: .messages(creators), 4: .messages(moved)] }
}

/// `AccountMoved`: managed identity `principalID` of `accountID` is now in `tenant`.
public struct IdentityTenant: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.VaultIdentityTenant"
    public var principalID: String
    public var accountID: String
    public var tenant: String
    public init(principalID: String, accountID: String, tenant: String) {
        self.principalID = principalID
        self.accountID = accountID
        self.tenant = tenant
    }
    public init(wire: WireFields) throws { self.init(principalID: wire.string(1), accountID: wire.string(2), tenant: wire.string(3)) }
    public var wire: WireFields { [1: .string(principalID), 2: .string(accountID), 3: .string(tenant)] }
}

/// Which service principal created a key (see `KeyVaultConfiguration.serviceRole`).
struct KeyCreator: Sendable, Equatable, WireMessage {
    static let protoName = "atrest.v1.VaultKeyCreator"
    var key: KeyRef
    var principalID: String
    init(key: KeyRef, principalID: String) { self.key = key; self.principalID = principalID }
    init(wire: WireFields) throws {
        self.init(key: try wire.message(1) ?? KeyRef(provider: "", keyID: ""), principalID: wire.string(2))
    }
    var wire: WireFields { [1: WireValue(key), 2: .string(principalID)] }
}
