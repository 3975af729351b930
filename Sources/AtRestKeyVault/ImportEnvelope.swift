import AtRestClient
import AtRestCrypto
import AtRestWire

/// Bring-your-own-key import wrapping, as the vault sees it: the format and
/// the cryptography are `KeyImportEnvelope` (AtRestClient, shared with the
/// CLI's `atrest key import`); this maps its errors to `VaultError` (a bad
/// envelope is `corrupt`, as it always was).
public enum ImportEnvelope {
    /// Seals `material` (32 bytes) for import as `keyID` (customer side: CLI, tests).
    public static func seal(_ material: SecretBytes, keyID: String, vaultPublicKey: [UInt8]) throws -> [UInt8] {
        try KeyImportEnvelope.seal(material, keyID: keyID, vaultPublicKey: vaultPublicKey)
    }

    /// Opens an envelope with the vault's import private key (vault side).
    static func open(_ envelope: [UInt8], keyID: String, privateKey: SecretBytes) throws(VaultError) -> SecretBytes {
        do {
            return try KeyImportEnvelope.open(envelope, keyID: keyID, privateKey: privateKey)
        } catch {
            throw VaultError(.corrupt, error.message)
        }
    }
}
