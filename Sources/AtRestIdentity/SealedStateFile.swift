import AtRestCrypto
import AtRestLocalState
import FoundationEssentials

/// The identity state on disk: `<dataDir>/identity.state`, a `SealedFile`
/// (AES-256-GCM under the root key, label "identity-state") holding the
/// state as JSON, replaced atomically on every change.
struct SealedStateFile: Sendable {
    let file: SealedFile

    init(path: String, rootKey: SecretBytes) {
        file = SealedFile(path: path, label: "identity-state", rootKey: rootKey)
    }

    var path: String { file.path }
    var exists: Bool { file.exists }

    func load() throws -> IdentityState? {
        let plain: SecretBytes?
        do throws(LocalStateError) {
            plain = try file.read()
        } catch {
            guard error.code == .corrupt else { throw error }
            throw IdentityError("'\(path)' cannot be opened with the configured identity root key (wrong key, or the file was altered)")
        }
        guard let plain else { return nil }
        do {
            return try plain.withUnsafeBytes { try JSONDecoder().decode(IdentityState.self, from: Data($0)) }
        } catch {
            throw IdentityError("'\(path)' decrypted but its content is not a valid identity state: \(error)")
        }
    }

    func save(_ state: IdentityState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try file.write(Array(try encoder.encode(state)))
    }
}
