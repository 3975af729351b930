/// A customer-provided key as it travels in a blob request (fields 20
/// `encryption_key` and 21 `encryption_key_sha256` of BlobPutRequest,
/// BlobGetRequest, BlobRequest and BlobSetMetadataRequest; docs/PROTOCOL.md
/// "Customer-provided keys").
///
/// The bytes are key material: `description`, `debugDescription` and the
/// mirror (which `dump` and string interpolation of an enclosing struct use)
/// never show them, so a request logged or traced as a whole shows only
/// that a key was sent. The worker checks and uses it (`CustomerKeyCheck`);
/// nothing stores it.
public struct CustomerProvidedKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    /// The AES-256 key: 32 bytes.
    public var key: [UInt8]
    /// SHA-256 of `key`, computed by the client: proves the key arrived unchanged.
    public var keySHA256: [UInt8]

    public init(key: [UInt8], keySHA256: [UInt8]) {
        self.key = key
        self.keySHA256 = keySHA256
    }

    /// Header metadata the front door sets on every data call it admits
    /// (and removes from any call that arrives with it): "curve" when both
    /// the client's connection and the workers' link run CURVE. A worker
    /// refuses a customer-provided key on a call without it.
    public static let transportMetadataKey = "atrest-transport"
    public static let encryptedTransport = "curve"

        public static let keyField: UInt32 = 20
    public static let sha256Field: UInt32 = 21

    /// The key of a request's fields 20-21, nil when neither was sent.
    public init?(wire: WireFields) {
        let key = wire.bytes(Self.keyField), sha = wire.bytes(Self.sha256Field)
        if key.isEmpty && sha.isEmpty { return nil }
        self.init(key: key, keySHA256: sha)
    }

    public var description: String { "customer-provided key (redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension WireFields {
    /// `fields` with a request's customer-provided key in fields 20-21 (none: unchanged).
    static func adding(_ key: CustomerProvidedKey?, to fields: WireFields) -> WireFields {
        guard let key else { return fields }
        var fields = fields
        fields[CustomerProvidedKey.keyField] = .bytes(key.key)
        fields[CustomerProvidedKey.sha256Field] = .bytes(key.keySHA256)
        return fields
    }
}
