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

    public init(provider: String, keyID: String, currentVersion: UInt32, versionCount: UInt32, state: State,
                purgeProtection: Bool, imported: Bool, rotationDays: UInt32, retentionDays: UInt32, createdAt: Int64,
                rotatedAt: Int64, expiresAt: Int64, deletedAt: Int64, purgeAfter: Int64, references: [UInt32: UInt64] = [:]) {
        self.provider = provider
        self.keyID = keyID
        self.currentVersion = currentVersion
        self.versionCount = versionCount
        self.state = state
        self.purgeProtection = purgeProtection
        self.imported = imported
        self.rotationDays = rotationDays
        self.retentionDays = retentionDays
        self.createdAt = createdAt
        self.rotatedAt = rotatedAt
        self.expiresAt = expiresAt
        self.deletedAt = deletedAt
        self.purgeAfter = purgeAfter
        self.references = references
    }
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
