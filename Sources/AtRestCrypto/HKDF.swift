internal import COpenSSL

/// HKDF-SHA256 (RFC 5869) through `EVP_KDF`: extract-then-expand in one call.
///
/// Derived keys come back as `SecretBytes`, never as plain arrays.
public enum HKDF {
    nonisolated(unsafe) static let kdf: OpaquePointer? = EVP_KDF_fetch(nil, "HKDF", nil)

    /// `outputCount` bytes of OKM from input keying material `key`, `salt` and `info`.
    public static func deriveKey(
        from key: SecretBytes, salt: some ContiguousBytes, info: some ContiguousBytes, outputCount: Int
    ) throws -> SecretBytes {
        guard let kdf = Self.kdf else { throw CryptoError.openSSL("EVP_KDF_fetch(HKDF)") }
        guard outputCount > 0, outputCount <= 255 * 32 else {
            throw CryptoError(.invalidInput, "HKDF-SHA256 output must be 1...8160 bytes, asked for \(outputCount)")
        }
        guard key.count > 0 else { throw CryptoError(.invalidInput, "HKDF input key must not be empty") }
        OpenSSLErrorQueue.clear()
        guard let context = EVP_KDF_CTX_new(kdf) else { throw CryptoError.openSSL("EVP_KDF_CTX_new") }
        defer { EVP_KDF_CTX_free(context) }
        return try SecretBytes(count: outputCount) { out in
            let ok = key.withUnsafeBytes { k in
                salt.withUnsafeBytes { s in
                    info.withUnsafeBytes { i in
                        do {
                            var params: [OSSL_PARAM] = [
                                OSSL_PARAM_construct_utf8_string(OSSLParamNames.digest, OSSLParamNames.sha256, 0),
                                OSSL_PARAM_construct_octet_string(OSSLParamNames.key, UnsafeMutableRawPointer(mutating: k.baseAddress), k.count),
                            ]
                            // An empty salt means "HashLen zero bytes" (RFC 5869 §2.2), OpenSSL's default.
                            if s.count > 0 {
                                params.append(OSSL_PARAM_construct_octet_string(OSSLParamNames.salt, UnsafeMutableRawPointer(mutating: s.baseAddress), s.count))
                            }
                            if i.count > 0 {
                                params.append(OSSL_PARAM_construct_octet_string(OSSLParamNames.info, UnsafeMutableRawPointer(mutating: i.baseAddress), i.count))
                            }
                            params.append(OSSL_PARAM_construct_end())
                            return EVP_KDF_derive(context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count, &params)
                        }
                    }
                }
            }
            guard ok == 1 else { throw CryptoError.openSSL("HKDF-SHA256 derive") }
        }
    }
}
