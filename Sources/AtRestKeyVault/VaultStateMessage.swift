import AtRestWire

/// The vault's own persisted state (grants and reference counts), sealed on disk.
struct VaultStateMessage: Sendable, WireMessage {
    static let protoName = "atrest.v1.VaultState"
    var grants: [AccessGrant]
    var references: [ReferenceCount]
    var creators: [KeyCreator]
    var moved: [VaultIdentityTenant]
    init(grants: [AccessGrant], references: [ReferenceCount], creators: [KeyCreator] = [], moved: [VaultIdentityTenant] = []) {
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

extension WrapResponse {
    /// The reply of Wrap, Rewrap and GenerateWrappedKey for a wrapped key.
    public init(_ wrapped: WrappedKey) {
        self.init(wrapped: wrapped.serialized, key: wrapped.key, checkValue: wrapped.checkValue)
    }
}
