internal import COpenSSL

/// An AES-256-GCM context bound to one key, for sealing or opening many
/// segments under it: the key schedule is computed once, each segment only
/// sets a new nonce. Works in place (`input` and `output` may be the same
/// memory) and writes tags into caller buffers, so the segment hot path
/// allocates nothing.
///
/// Not thread-safe: use one per stream (one per thread).
public final class AESGCMContext {
    private let context: OpaquePointer

    public init(key: SecretBytes) throws {
        guard key.count == AESGCM.keySize else {
            throw CryptoError(.invalidInput, "AES-256-GCM needs a 32-byte key, got \(key.count) bytes")
        }
        guard let cipher = CipherContext.cipher else { throw CryptoError.openSSL("EVP_CIPHER_fetch(AES-256-GCM)") }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        self.context = context
        // Install the key once; nonces come per call.
        let ok = key.withUnsafeBytes { k in
            EVP_CipherInit_ex2(context, cipher, k.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, 1, nil)
        }
        guard ok == 1 else { throw CryptoError.openSSL("AES-256-GCM key setup") }
    }

    /// Frees the context; OpenSSL cleanses the key schedule.
    deinit { EVP_CIPHER_CTX_free(context) }

    /// Encrypts `input` into `output` (may alias) and writes the 16-byte tag into `tag`.
    public func seal(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, tag: UnsafeMutableRawBufferPointer
    ) throws {
        try GCMOperation.run(context, key: nil, encrypt: true, nonce: nonce, aad: aad,
                             input: input, output: output, tagIn: nil, tagOut: tag)
    }

    /// Decrypts `input` into `output` (may alias) after checking `tag`; on
    /// failure throws `.authenticationFailure` and zeroes `output`.
    public func open(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer
    ) throws {
        do {
            try GCMOperation.run(context, key: nil, encrypt: false, nonce: nonce, aad: aad,
                                 input: input, output: output, tagIn: tag, tagOut: UnsafeMutableRawBufferPointer(start: nil, count: 0))
        } catch {
            if let base = output.baseAddress { OPENSSL_cleanse(base, min(output.count, input.count)) }
            throw error
        }
    }
}
