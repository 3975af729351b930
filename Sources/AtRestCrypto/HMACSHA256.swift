internal import COpenSSL

/// HMAC-SHA256 through `EVP_MAC` (the MAC algorithm is fetched once per process).
public enum HMACSHA256 {
    public static let macSize = 32

    nonisolated(unsafe) static let mac: OpaquePointer? = EVP_MAC_fetch(nil, "HMAC", nil)

    /// The 32-byte HMAC-SHA256 of `message` under `key`.
    public static func authenticate(_ message: some ContiguousBytes, using key: SecretBytes) throws -> [UInt8] {
        try message.withUnsafeBytes { try authenticate(parts: [$0], using: key) }
    }

    /// HMAC over the concatenation of `parts`, without concatenating them first.
    public static func authenticate(parts: [UnsafeRawBufferPointer], using key: SecretBytes) throws -> [UInt8] {
        guard let mac = Self.mac else { throw CryptoError.openSSL("EVP_MAC_fetch(HMAC)") }
        guard key.count > 0 else { throw CryptoError(.invalidInput, "HMAC key must not be empty") }
        OpenSSLErrorQueue.clear()
        guard let context = EVP_MAC_CTX_new(mac) else { throw CryptoError.openSSL("EVP_MAC_CTX_new") }
        defer { EVP_MAC_CTX_free(context) }
        let ok: Int32 = {
            var params = [
                OSSL_PARAM_construct_utf8_string(OSSLParamNames.digest, OSSLParamNames.sha256, 0),
                OSSL_PARAM_construct_end(),
            ]
            return key.withUnsafeBytes { k in
                EVP_MAC_init(context, k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count, &params)
            }
        }()
        guard ok == 1 else { throw CryptoError.openSSL("HMAC-SHA256 init") }
        for part in parts where part.count > 0 {
            guard EVP_MAC_update(context, part.baseAddress!.assumingMemoryBound(to: UInt8.self), part.count) == 1 else {
                throw CryptoError.openSSL("HMAC-SHA256 update")
            }
        }
        var out = [UInt8](repeating: 0, count: macSize)
        var length = 0
        guard EVP_MAC_final(context, &out, &length, out.count) == 1, length == macSize else {
            throw CryptoError.openSSL("HMAC-SHA256 final")
        }
        return out
    }

    /// Constant-time check of a received MAC.
    public static func verify(_ mac: some ContiguousBytes, for message: some ContiguousBytes, using key: SecretBytes) throws -> Bool {
        ConstantTime.equals(try authenticate(message, using: key), mac)
    }
}
