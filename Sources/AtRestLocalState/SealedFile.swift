import AtRestCrypto

/// A small file sealed under a root key (`SealedBox`: magic ‖ 12-byte
/// random nonce ‖ AES-256-GCM(content) ‖ 16-byte tag, AAD = magic ‖
/// "atrest/v1/sealed:" ‖ label). The label binds the content to its role, so one sealed file cannot
/// be swapped for another (one provider's state for another's, say). Writes
/// are atomic (`LocalFile.writeAtomically`).
public struct SealedFile: Sendable {
    public static let magic = SealedBox.magic
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
        guard bytes.count >= Self.magic.count + AESGCM.nonceSize + AESGCM.tagSize, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
            throw LocalStateError(.corrupt, "sealed file '\(path)' is truncated or not an AtRest sealed file")
        }
        guard let content = SealedBox.open(bytes, rootKey: rootKey, label: label) else {
            throw LocalStateError(.corrupt, "sealed file '\(path)' does not authenticate under the root key (edited, corrupt, or a different root key)")
        }
        return content
    }

    /// Seals `content` and replaces the file atomically.
    public func write(_ content: some ContiguousBytes) throws(LocalStateError) {
        let sealed: [UInt8]
        do { sealed = try SealedBox.seal(content, rootKey: rootKey, label: label) } catch {
            throw LocalStateError(.io, "sealing '\(path)' failed: \(error)")
        }
        try LocalFile.writeAtomically(sealed, to: path)
    }
}
