internal import COpenSSL

/// The OpenSSL CSPRNG (`RAND_bytes`).
public enum SecureRandom {
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        OpenSSLErrorQueue.clear()
        guard RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            throw CryptoError.openSSL("RAND_bytes")
        }
    }

    /// `count` random bytes (for nonces, salts, call ids; use `SecretBytes(randomCount:)` for keys).
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try fill($0) }
        return out
    }
}
