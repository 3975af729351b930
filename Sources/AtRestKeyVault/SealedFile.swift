import AtRestCrypto

/// A small file encrypted under the vault root key: "ATS1" | nonce (12) |
/// AES-256-GCM(ciphertext ‖ tag), AAD = "atrest/v1/sealed:" + label. The label
/// binds the content to its role, so one sealed file cannot be swapped for
/// another (e.g. the customer provider's state for the managed one's).
/// Writes are atomic (`AtomicFile`).
struct SealedFile: Sendable {
    static let magic: [UInt8] = Array("ATS1".utf8)
    let path: String
    let label: String
    let rootKey: SecretBytes

    /// The plaintext, or nil when the file does not exist. Throws `.corrupt`
    /// naming the file when it does not authenticate.
    func read() throws(VaultError) -> SecretBytes? {
        guard let bytes = try AtomicFile.read(path) else { return nil }
        guard bytes.count >= 4 + AESGCM.nonceSize + AESGCM.tagSize, Array(bytes.prefix(4)) == Self.magic else {
            throw VaultError(.corrupt, "sealed file '\(path)' is truncated or not a vault file")
        }
        let nonce = Array(bytes[4..<16])
        let body = bytes[16..<(bytes.count - AESGCM.tagSize)]
        let tag = Array(bytes.suffix(AESGCM.tagSize))
        do {
            return try SecretBytes(count: body.count) { out in
                try Array(body).withUnsafeBytes { input in
                    try AESGCM.open(input, into: out, tag: tag, using: rootKey, nonce: nonce, authenticating: aad)
                }
            }
        } catch {
            throw VaultError(.corrupt, "sealed file '\(path)' does not authenticate under the vault root key (edited, corrupt, or a different root key)")
        }
    }

    func write(_ plaintext: some ContiguousBytes) throws(VaultError) {
        do {
            try plaintext.withUnsafeBytes { try write(raw: $0) }
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError(.internal, "sealing '\(path)' failed: \(error)")
        }
    }

    func write(raw plaintext: UnsafeRawBufferPointer) throws(VaultError) {
        do {
            let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
            var out = Self.magic + nonce + [UInt8](repeating: 0, count: plaintext.count)
            let tag = try out.withUnsafeMutableBytes { buffer in
                try AESGCM.seal(plaintext, into: UnsafeMutableRawBufferPointer(rebasing: buffer[16...]),
                                using: rootKey, nonce: nonce, authenticating: aad)
            }
            out += tag
            try AtomicFile.write(out, to: path)
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError(.internal, "sealing '\(path)' failed: \(error)")
        }
    }

    private var aad: [UInt8] { Array("atrest/v1/sealed:\(label)".utf8) }
}
