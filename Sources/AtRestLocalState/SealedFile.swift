import AtRestCrypto

/// A small file sealed under a root key: magic ‖ 12-byte random nonce ‖
/// AES-256-GCM(content) ‖ 16-byte tag, AAD = magic ‖ "atrest/v1/sealed:" ‖
/// label. The label binds the content to its role, so one sealed file cannot
/// be swapped for another (one provider's state for another's, say). Writes
/// are atomic (`LocalFile.writeAtomically`).
public struct SealedFile: Sendable {
    public static let magic: [UInt8] = Array("ATS1".utf8)
    public let path: String
    public let label: String
    private let rootKey: SecretBytes

    public init(path: String, label: String, rootKey: SecretBytes) {
        self.path = path
        self.label = label
        self.rootKey = rootKey
    }

    public var exists: Bool { LocalFile.exists(path) }

    /// The content, or nil when the file does not exist; `.corrupt` naming
    /// the file when it does not authenticate.
    public func read() throws(LocalStateError) -> SecretBytes? {
        guard let bytes = try LocalFile.read(path) else { return nil }
        let header = Self.magic.count + AESGCM.nonceSize
        guard bytes.count >= header + AESGCM.tagSize, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
            throw LocalStateError(.corrupt, "sealed file '\(path)' is truncated or not an AtRest sealed file")
        }
        let nonce = Array(bytes[Self.magic.count..<header])
        let tag = Array(bytes.suffix(AESGCM.tagSize))
        do {
            return try bytes.withUnsafeBytes { all in
                let body = UnsafeRawBufferPointer(rebasing: all[header..<(all.count - AESGCM.tagSize)])
                return try SecretBytes(count: body.count) { out in
                    try AESGCM.open(body, into: out, tag: tag, using: rootKey, nonce: nonce, authenticating: aad)
                }
            }
        } catch {
            throw LocalStateError(.corrupt, "sealed file '\(path)' does not authenticate under the root key (edited, corrupt, or a different root key)")
        }
    }

    /// Seals `content` and replaces the file atomically.
    public func write(_ content: some ContiguousBytes) throws(LocalStateError) {
        do {
            let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
            var out = Self.magic + nonce
            let tag = try content.withUnsafeBytes { plain in
                var sealed = [UInt8](repeating: 0, count: plain.count)
                let tag = try sealed.withUnsafeMutableBytes { buffer in
                    try AESGCM.seal(plain, into: buffer, using: rootKey, nonce: nonce, authenticating: aad)
                }
                out += sealed
                return tag
            }
            out += tag
            try LocalFile.writeAtomically(out, to: path)
        } catch let error as LocalStateError {
            throw error
        } catch {
            throw LocalStateError(.io, "sealing '\(path)' failed: \(error)")
        }
    }

    private var aad: [UInt8] { Self.magic + Array("atrest/v1/sealed:\(label)".utf8) }
}
