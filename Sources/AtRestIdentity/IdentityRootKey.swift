import AtRestCrypto
import Glibc

/// Resolves the identity root key: the AES-256 key that seals the state file
/// and each signing key.
///
/// Order: the environment variable named in the config (unpadded base64url of
/// 32 bytes), else the key file (32 raw bytes, mode 0600). At first start
/// (no state yet) a missing key file is created with fresh random bytes. A
/// missing key while state exists is an error: silently creating a new key
/// would make every stored principal and key unreadable.
enum IdentityRootKey {
    static func resolve(config: IdentityServiceConfig, stateExists: Bool) throws -> SecretBytes {
        if let name = config.rootKeyEnvironmentVariable, let value = getenv(name) {
            let text = String(cString: value)
            guard var raw = Base64URL.decode(text), raw.count == AESGCM.keySize else {
                throw IdentityError("$\(name) must be 32 bytes in unpadded base64url (43 characters)")
            }
            defer { for i in raw.indices { raw[i] = 0 } }
            return SecretBytes(raw)
        }
        let path = config.resolvedRootKeyPath
        do {
            if let key = try FileIO.readSecret(path, expectedCount: AESGCM.keySize) { return key }
        } catch {
            throw IdentityError("identity root key '\(path)': \(error)")
        }
        guard !stateExists else {
            throw IdentityError("the identity state in '\(config.dataDirectory)' exists but its root key '\(path)' is missing; restore the key file (or set $\(config.rootKeyEnvironmentVariable ?? "ATREST_IDENTITY_ROOT_KEY")), the state cannot be read without it")
        }
        let key = try SecretBytes(randomCount: AESGCM.keySize)
        try FileIO.makeDirectory(FileIO.parentDirectory(of: path))
        guard try FileIO.createExclusive(key, at: path) else {
            throw IdentityError("root key file '\(path)' appeared while creating it; restart the service")
        }
        return key
    }
}

/// A start-up or configuration error of the identity service (not an RPC status).
public struct IdentityError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
