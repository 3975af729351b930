/// What to create: the settings of a new key (`CreateKeyRequest`); the vault maps it to the
/// provider ABI's `atrest_kp_key_spec`.
public struct KeySpec: Sendable, Equatable {
    public var keyID: String
    public var expiresAt: Int64
    public var rotationDays: UInt32
    public var retentionDays: UInt32
    public var purgeProtection: Bool

    public init(keyID: String, expiresAt: Int64 = 0, rotationDays: UInt32 = 0, retentionDays: UInt32 = 0, purgeProtection: Bool = false) {
        self.keyID = keyID
        self.expiresAt = expiresAt
        self.rotationDays = rotationDays
        self.retentionDays = retentionDays
        self.purgeProtection = purgeProtection
    }
}
