import AtRestCrypto

/// The sealing of `SealedFile`, for sealed bytes kept elsewhere (the front
/// door's registry records on a storage backend): magic ‖ 12-byte random
/// nonce ‖ AES-256-GCM(content) ‖ 16-byte tag, AAD = magic ‖
/// "atrest/v1/sealed:" ‖ label. The label binds the bytes to their role
/// (and, for a record, to its name).
public enum SealedBox {
    public static let magic: [UInt8] = Array("ATS1".utf8)

    /// `content` sealed under `rootKey` for `label`.
    public static func seal(_ content: some ContiguousBytes, rootKey: SecretBytes, label: String) throws -> [UInt8] {
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        var out = magic + nonce
        let tag = try content.withUnsafeBytes { plain in
            var sealed = [UInt8](repeating: 0, count: plain.count)
            let tag = try sealed.withUnsafeMutableBytes { buffer in
                try AESGCM.seal(plain, into: buffer, using: rootKey, nonce: nonce, authenticating: aad(label))
            }
            out += sealed
            return tag
        }
        return out + tag
    }

    /// The content, or nil when `bytes` are truncated, not sealed bytes, or
    /// do not authenticate under `rootKey` and `label`.
    public static func open(_ bytes: [UInt8], rootKey: SecretBytes, label: String) -> SecretBytes? {
        let header = magic.count + AESGCM.nonceSize
        guard bytes.count >= header + AESGCM.tagSize, Array(bytes.prefix(magic.count)) == magic else { return nil }
        let nonce = Array(bytes[magic.count..<header])
        let tag = Array(bytes.suffix(AESGCM.tagSize))
        return try? bytes.withUnsafeBytes { all in
            let body = UnsafeRawBufferPointer(rebasing: all[header..<(all.count - AESGCM.tagSize)])
            return try SecretBytes(count: body.count) { out in
                try AESGCM.open(body, into: out, tag: tag, using: rootKey, nonce: nonce, authenticating: aad(label))
            }
        }
    }

    static func aad(_ label: String) -> [UInt8] { magic + Array("atrest/v1/sealed:\(label)".utf8) }
}
