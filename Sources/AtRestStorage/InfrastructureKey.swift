import AtRestCrypto

/// The infrastructure layer's unwrapped key (AEK_infra, issue 20): a second
/// account key from an independent, service-held key chain. An object written
/// while an `AccountKey` carries one is sealed twice (header flag bit 2, see
/// docs/FORMAT.md "Infrastructure layer"): inner under the infrastructure
/// object key, outer under the account's object key.
public struct InfrastructureKey: Sendable {
    let key: SecretBytes
    /// Its account key version (unique within the account, as headers record).
    public let accountKeyVersion: UInt32
    /// 16 bytes of HKDF(AEK_infra, info "atrest/v1/infra-key-check").
    public let checkValue: [UInt8]

    static let objectKeyLabel = Array("atrest/v1/infra".utf8)

    public init(key: SecretBytes, accountKeyVersion: UInt32) throws {
        guard key.count == 32 else { throw StorageError(.invalidArgument, "infrastructure key must be 32 bytes, got \(key.count)") }
        self.key = key
        self.accountKeyVersion = accountKeyVersion
        checkValue = try HKDF.deriveKey(from: key, salt: [UInt8](), info: Array("atrest/v1/infra-key-check".utf8),
                                        outputCount: AccountKey.checkValueSize).withUnsafeBytes { Array($0) }
    }

    /// The inner layer's per-object key: HKDF-SHA256(AEK_infra, salt, "atrest/v1/infra" ‖ 0x00 ‖ context).
    func objectKey(salt: [UInt8], context: [UInt8]) throws -> SecretBytes {
        try HKDF.deriveKey(from: key, salt: salt, info: Self.objectKeyLabel + [0] + context, outputCount: 32)
    }
}

extension AccountKey {
    /// This key with the infrastructure layer's key attached: everything sealed
    /// with the result is sealed twice; objects with the layer need it to open.
    public func withInfrastructure(_ infrastructure: InfrastructureKey?) -> AccountKey {
        var copy = self
        copy.infrastructure = infrastructure
        return copy
    }
}
