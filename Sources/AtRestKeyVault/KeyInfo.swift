import AtRestWire
internal import CKeyProviderABI

/// A key as the vault reports it: the provider's description plus how many
/// wrapped account keys stored data holds per version.
public struct KeyInfo: Sendable, Equatable {
    public enum State: String, Sendable { case enabled, disabled, deleted }

    public var provider: String
    public var keyID: String
    public var currentVersion: UInt32
    public var versionCount: UInt32
    public var state: State
    public var purgeProtection: Bool
    public var imported: Bool
    public var rotationDays: UInt32
    public var retentionDays: UInt32
    public var createdAt: Int64
    public var rotatedAt: Int64
    public var expiresAt: Int64
    public var deletedAt: Int64
    public var purgeAfter: Int64
    /// Version → wrapped account keys referencing it (versions with 0 left out).
    public var references: [UInt32: UInt64]

    public var ref: KeyRef { KeyRef(provider: provider, keyID: keyID, version: currentVersion) }

    init(provider: String, _ info: atrest_kp_key_info) {
        self.provider = provider
        keyID = withUnsafeBytes(of: info.key_id) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        currentVersion = info.current_version
        versionCount = info.version_count
        state = switch info.state {
        case ATREST_KP_STATE_DISABLED.rawValue: .disabled
        case ATREST_KP_STATE_DELETED.rawValue: .deleted
        default: .enabled
        }
        purgeProtection = info.flags & ATREST_KP_FLAG_PURGE_PROTECTION != 0
        imported = info.flags & ATREST_KP_FLAG_IMPORTED != 0
        rotationDays = info.rotation_days
        retentionDays = info.retention_days
        createdAt = info.created_at
        rotatedAt = info.rotated_at
        expiresAt = info.expires_at
        deletedAt = info.deleted_at
        purgeAfter = info.purge_after
        references = [:]
    }

    /// When automatic rotation is due (nil when the key has no rotation period).
    var nextRotation: Int64? { rotationDays == 0 ? nil : rotatedAt + Int64(rotationDays) * 86_400 }
}

extension KeyInfo: WireMessage {
    public static let protoName = "atrest.v1.VaultKey"

    public init(wire: WireFields) throws {
        provider = wire.string(1)
        keyID = wire.string(2)
        currentVersion = wire.uint32(3)
        versionCount = wire.uint32(4)
        state = State(rawValue: wire.string(5)) ?? .enabled
        purgeProtection = wire.bool(6)
        imported = wire.bool(7)
        rotationDays = wire.uint32(8)
        retentionDays = wire.uint32(9)
        createdAt = wire.int64(10)
        rotatedAt = wire.int64(11)
        expiresAt = wire.int64(12)
        deletedAt = wire.int64(13)
        purgeAfter = wire.int64(14)
        references = [:]
        for count in try wire.messages(15, as: ReferenceCount.self) { references[count.key.version] = count.count }
    }

    public var wire: WireFields {
        [1: .string(provider), 2: .string(keyID), 3: .uint(currentVersion), 4: .uint(versionCount),
         5: .string(state.rawValue), 6: .bool(purgeProtection), 7: .bool(imported), 8: .uint(rotationDays),
         9: .uint(retentionDays), 10: .int(createdAt), 11: .int(rotatedAt), 12: .int(expiresAt),
         13: .int(deletedAt), 14: .int(purgeAfter),
         15: .messages(references.sorted { $0.key < $1.key }.map {
             ReferenceCount(key: KeyRef(provider: provider, keyID: keyID, version: $0.key), count: $0.value)
         })]
    }
}
