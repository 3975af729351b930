import AtRestCrypto
import FoundationEssentials

/// The identity state on disk: `<dataDir>/identity.state`, sealed with
/// AES-256-GCM under the root key, replaced atomically on every change.
///
/// Layout: magic "ATRID001" ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag;
/// the magic is the AAD, so a file of another kind or version fails to open.
struct SealedStateFile: Sendable {
    static let magic = Array("ATRID001".utf8)
    let path: String
    let rootKey: SecretBytes

    var exists: Bool { FileIO.exists(path) }

    func load() throws -> IdentityState? {
        guard let bytes = try FileIO.read(path) else { return nil }
        let header = Self.magic.count + AESGCM.nonceSize
        guard bytes.count >= header + AESGCM.tagSize, Array(bytes[..<Self.magic.count]) == Self.magic else {
            throw IdentityError("'\(path)' is not an AtRest identity state file (bad magic or truncated)")
        }
        let nonce = Array(bytes[Self.magic.count..<header])
        let plain: [UInt8]
        do {
            plain = try AESGCM.open(bytes[header...], using: rootKey, nonce: nonce, authenticating: Self.magic)
        } catch {
            throw IdentityError("'\(path)' cannot be opened with the configured identity root key (wrong key, or the file was altered)")
        }
        do {
            return try JSONDecoder().decode(IdentityState.self, from: Data(plain))
        } catch {
            throw IdentityError("'\(path)' decrypted but its content is not a valid identity state: \(error)")
        }
    }

    func save(_ state: IdentityState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let plain = try encoder.encode(state)
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        let sealed = try AESGCM.seal(Array(plain), using: rootKey, nonce: nonce, authenticating: Self.magic)
        try FileIO.writeAtomically(Self.magic + nonce + sealed, to: path)
    }
}
