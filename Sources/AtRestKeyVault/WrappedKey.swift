import AtRestWire

/// A wrapped account key as stored data keeps it: the key reference and check
/// value in clear, then the provider's authenticated ciphertext.
///
/// Layout (big-endian): "ATWK" | 0x01 | u8 provider length | provider |
/// u8 key id length | key id | u32 version | 16-byte KCV | u32 n | n provider bytes.
/// Everything before `n` (the header) is the AAD of the provider's wrap, with
/// the caller's context appended, so neither the reference nor the context can
/// be changed without unwrap failing.
public struct WrappedKey: Sendable, Equatable {
    static let magic: [UInt8] = Array("ATWK".utf8) + [1]
    public var key: KeyRef
    public var checkValue: [UInt8]
    var providerBytes: [UInt8]

    init(key: KeyRef, checkValue: [UInt8], providerBytes: [UInt8]) {
        self.key = key
        self.checkValue = checkValue
        self.providerBytes = providerBytes
    }

    /// The reference and KCV part, also the AAD prefix.
    var header: [UInt8] {
        var out = Self.magic
        out.append(UInt8(key.provider.utf8.count))
        out += key.provider.utf8
        out.append(UInt8(key.keyID.utf8.count))
        out += key.keyID.utf8
        out += bigEndian(key.version)
        out += checkValue
        return out
    }

    static func aad(header: [UInt8], context: [UInt8]) -> [UInt8] { header + context }

    public var serialized: [UInt8] { header + bigEndian(UInt32(providerBytes.count)) + providerBytes }

    /// Parses a blob; anything malformed is `.corrupt`, naming the key when
    /// the header got that far.
    public init(parsing bytes: [UInt8]) throws(VaultError) {
        var reader = ByteReader(bytes)
        guard reader.take(5) == Self.magic else {
            throw VaultError(.corrupt, "wrapped key is corrupt: it does not start with the ATWK v1 header")
        }
        guard let provider = reader.string(), let keyID = reader.string(), let version = reader.u32(),
              let kcv = reader.take(16) else {
            throw VaultError(.corrupt, "wrapped key is corrupt: its key reference is truncated")
        }
        let key = KeyRef(provider: provider, keyID: keyID, version: version)
        guard let count = reader.u32(), let body = reader.take(Int(count)), reader.atEnd else {
            throw VaultError(.corrupt, "wrapped key for \(key) is corrupt: its ciphertext is truncated or has trailing bytes")
        }
        self.init(key: key, checkValue: kcv, providerBytes: body)
    }
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
}

/// Bounds-checked reading of a byte array; nil past the end.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var atEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func u32() -> UInt32? {
        take(4).map { $0.reduce(0) { $0 << 8 | UInt32($1) } }
    }

    mutating func string() -> String? {
        guard let length = take(1)?.first, let raw = take(Int(length)) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }
}
