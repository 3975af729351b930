/// Which key an object is encrypted under: the key-encryption key in its
/// provider (provider, key id, key version) and the version of the account
/// key it wraps. Stored in clear in every header so "same name, different
/// key" fails loudly instead of decrypting to garbage.
public struct KeyReference: Sendable, Hashable, CustomStringConvertible {
    public var provider: String
    public var keyID: String
    public var keyVersion: UInt32
    public var accountKeyVersion: UInt32

    public init(provider: String, keyID: String, keyVersion: UInt32, accountKeyVersion: UInt32) {
        self.provider = provider
        self.keyID = keyID
        self.keyVersion = keyVersion
        self.accountKeyVersion = accountKeyVersion
    }

    public var description: String {
        "key '\(provider)/\(keyID)' version \(keyVersion), account key version \(accountKeyVersion)"
    }

    func encode(into w: inout ByteWriter) throws {
        try w.shortString(provider, field: "key provider")
        try w.shortString(keyID, field: "key id")
        w.u32(keyVersion)
        w.u32(accountKeyVersion)
    }

    static func decode(from r: inout ByteReader) throws -> KeyReference {
        KeyReference(provider: try r.shortString(), keyID: try r.shortString(), keyVersion: try r.u32(), accountKeyVersion: try r.u32())
    }
}
