internal import COpenSSL

/// Salted slow hashes of principal secrets: PBKDF2-HMAC-SHA256 via OpenSSL.
///
/// Encoded as `$pbkdf2-sha256$i=<iterations>$<salt>$<hash>` (salt and hash in
/// unpadded base64url), so the cost can be raised later without breaking
/// stored hashes: verification reads the parameters from the string.
/// Why PBKDF2 and not scrypt: it is available in every OpenSSL build (also a
/// FIPS one), and its cost is one tunable number.
public struct PasswordHash: Sendable, Equatable, CustomStringConvertible {
    public static let algorithm = "pbkdf2-sha256"
    /// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
    public static let defaultIterations: UInt32 = 600_000
    public static let saltSize = 16
    public static let hashSize = 32
    /// Refuse absurd parameters read from storage (a corrupted file must not hang a login).
    static let maxIterations: UInt32 = 50_000_000

    public let iterations: UInt32
    public let salt: [UInt8]
    let hash: [UInt8]

    /// Hashes `secret` with a fresh random salt.
    public init(hashing secret: some ContiguousBytes, iterations: UInt32 = PasswordHash.defaultIterations) throws {
        guard iterations >= 1, iterations <= Self.maxIterations else {
            throw CryptoError(.invalidInput, "PBKDF2 iterations must be 1...\(Self.maxIterations), got \(iterations)")
        }
        let salt = try SecureRandom.bytes(Self.saltSize)
        self.iterations = iterations
        self.salt = salt
        hash = try Self.derive(secret, salt: salt, iterations: iterations)
    }

    /// Parses an encoded hash string; throws `.invalidInput` naming what is wrong.
    public init(encoded: String) throws {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == Self.algorithm else {
            throw CryptoError(.invalidInput, "not a \(Self.algorithm) hash string")
        }
        guard parts[2].hasPrefix("i="), let iterations = UInt32(parts[2].dropFirst(2)),
              iterations >= 1, iterations <= Self.maxIterations else {
            throw CryptoError(.invalidInput, "bad iteration count in \(Self.algorithm) hash string")
        }
        guard let salt = Base64URL.decode(parts[3]), !salt.isEmpty,
              let hash = Base64URL.decode(parts[4]), hash.count == Self.hashSize else {
            throw CryptoError(.invalidInput, "bad salt or hash in \(Self.algorithm) hash string")
        }
        self.iterations = iterations
        self.salt = salt
        self.hash = hash
    }

    public var encoded: String {
        "$\(Self.algorithm)$i=\(iterations)$\(Base64URL.encode(salt))$\(Base64URL.encode(hash))"
    }

    /// Recomputes the hash of `secret` and compares in constant time.
    public func verify(_ secret: some ContiguousBytes) -> Bool {
        guard let candidate = try? Self.derive(secret, salt: salt, iterations: iterations) else { return false }
        return ConstantTime.equals(candidate, hash)
    }

    /// Never shows the hash (it is offline-attackable material).
    public var description: String { "PasswordHash(\(Self.algorithm), i=\(iterations), redacted)" }

    static func derive(_ secret: some ContiguousBytes, salt: [UInt8], iterations: UInt32) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: hashSize)
        OpenSSLErrorQueue.clear()
        let ok = secret.withUnsafeBytes { pass in
            // A non-nil pointer even for an empty secret.
            let base = pass.baseAddress?.assumingMemoryBound(to: CChar.self)
            return withUnsafePointer(to: CChar(0)) { empty in
                PKCS5_PBKDF2_HMAC(base ?? empty, Int32(pass.count), salt, Int32(salt.count),
                                  Int32(iterations), EVP_sha256(), Int32(hashSize), &out)
            }
        }
        guard ok == 1 else { throw CryptoError.openSSL("PBKDF2-HMAC-SHA256") }
        return out
    }
}
