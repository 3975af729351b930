internal import COpenSSL

/// HKDF-SHA256 (RFC 5869): extract-then-expand.
///
/// Derived keys come back as `SecretBytes`, never as plain arrays. Object
/// keys are derived once per object, so this is on the per-object hot path:
/// OpenSSL 3.0's `EVP_KDF` HKDF fetches HMAC and SHA-256 by name on every
/// call (≈ 5 µs). By default the two steps run over the per-thread keyed
/// HMAC context instead (same construction, RFC 5869 §2.2–2.3, ≈ 1 µs);
/// in FIPS mode the `EVP_KDF` implementation inside the FIPS provider is
/// used so the whole derivation stays inside the validated module.
public enum HKDF {
    nonisolated(unsafe) static let kdf: OpaquePointer? = EVP_KDF_fetch(nil, "HKDF", nil)

    /// `outputCount` bytes of OKM from input keying material `key`, `salt` and `info`.
    public static func deriveKey(
        from key: SecretBytes, salt: some ContiguousBytes, info: some ContiguousBytes, outputCount: Int
    ) throws -> SecretBytes {
        guard outputCount > 0, outputCount <= 255 * 32 else {
            throw CryptoError(.invalidInput, "HKDF-SHA256 output must be 1...8160 bytes, asked for \(outputCount)")
        }
        guard key.count > 0 else { throw CryptoError(.invalidInput, "HKDF input key must not be empty") }
        if CryptoPolicy.isFIPSEnabled { return try deriveThroughKDF(from: key, salt: salt, info: info, outputCount: outputCount) }
        return try deriveThroughHMAC(from: key, salt: salt, info: info, outputCount: outputCount)
    }

    /// RFC 5869 over HMAC-SHA256: PRK = HMAC(salt, IKM); T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i).
    static func deriveThroughHMAC(
        from key: SecretBytes, salt: some ContiguousBytes, info: some ContiguousBytes, outputCount: Int
    ) throws -> SecretBytes {
        let macSize = HMACSHA256.macSize
        // An empty salt means HashLen zero bytes (RFC 5869 §2.2); HMAC pads keys with zeros anyway.
        let zeroSalt = [UInt8](repeating: 0, count: macSize)
        let prk = try SecretBytes(count: macSize) { prk in
            try key.withUnsafeBytes { ikm in
                try salt.withUnsafeBytes { s in
                    try zeroSalt.withUnsafeBytes { z in
                        try HMACSHA256.authenticate(parts: [ikm], key: s.count > 0 ? s : z, into: prk)
                    }
                }
            }
        }
        let blocks = (outputCount + macSize - 1) / macSize
        // T(i) blocks, then the first outputCount bytes; both buffers are SecretBytes (wiped).
        let stream = try SecretBytes(count: blocks * macSize) { t in
            try prk.withUnsafeBytes { p in
                try info.withUnsafeBytes { i in
                    var counter: UInt8 = 0
                    try withUnsafeMutableBytes(of: &counter) { c in
                        for block in 0..<blocks {
                            c[0] = UInt8(block + 1)
                            let previous = block == 0 ? UnsafeRawBufferPointer(start: nil, count: 0)
                                : UnsafeRawBufferPointer(rebasing: t[((block - 1) * macSize)..<(block * macSize)])
                            try HMACSHA256.authenticate(parts: [previous, i, UnsafeRawBufferPointer(c)], key: p,
                                                        into: UnsafeMutableRawBufferPointer(rebasing: t[(block * macSize)..<((block + 1) * macSize)]))
                        }
                    }
                }
            }
        }
        if stream.count == outputCount { return stream }
        return stream.withUnsafeBytes { s in
            SecretBytes(count: outputCount) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: s[..<outputCount])) }
        }
    }

    /// RFC 5869 through OpenSSL's `EVP_KDF` HKDF in one call.
    static func deriveThroughKDF(
        from key: SecretBytes, salt: some ContiguousBytes, info: some ContiguousBytes, outputCount: Int
    ) throws -> SecretBytes {
        guard let kdf = Self.kdf else { throw CryptoError.openSSL("EVP_KDF_fetch(HKDF)") }
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
