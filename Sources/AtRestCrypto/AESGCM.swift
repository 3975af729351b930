internal import COpenSSL
import Glibc

/// AES-256-GCM through OpenSSL EVP: 32-byte keys, 12-byte nonces, 16-byte tags.
public enum AESGCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    /// Encrypts `plaintext` into `ciphertext` (same length) and returns the tag.
    public static func seal(
        _ plaintext: UnsafeRawBufferPointer, into ciphertext: UnsafeMutableRawBufferPointer,
        using key: SecretBytes, nonce: some ContiguousBytes, authenticating aad: some ContiguousBytes
    ) throws -> [UInt8] {
        precondition(ciphertext.count >= plaintext.count, "ciphertext buffer too small")
        let context = try CipherContext.forCurrentThread()
        return try context.run(encrypt: true, key: key, nonce: nonce, aad: aad, input: plaintext, output: ciphertext, tag: nil)
    }

    /// Decrypts `ciphertext` into `plaintext` after checking `tag`; throws
    /// `.authenticationFailure` when anything does not match. On failure the
    /// output buffer is zeroed, so no unauthenticated plaintext is left behind.
    public static func open(
        _ ciphertext: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawBufferPointer,
        tag: some ContiguousBytes, using key: SecretBytes, nonce: some ContiguousBytes,
        authenticating aad: some ContiguousBytes
    ) throws {
        precondition(plaintext.count >= ciphertext.count, "plaintext buffer too small")
        let context = try CipherContext.forCurrentThread()
        do {
            _ = try tag.withUnsafeBytes { tagBytes in
                try context.run(encrypt: false, key: key, nonce: nonce, aad: aad, input: ciphertext, output: plaintext, tag: tagBytes)
            }
        } catch {
            if let base = plaintext.baseAddress { OPENSSL_cleanse(base, plaintext.count) }
            throw error
        }
    }

    /// The first `output.count` bytes of the plaintext of `ciphertext` (a GCM
    /// ciphertext without its tag, or a prefix of one), WITHOUT checking the tag.
    ///
    /// GCM encrypts in counter mode, so a prefix decrypts on its own; what it
    /// does not give is integrity: the bytes may have been changed. Only for a
    /// caller that checks what it reads by other means before using it, and
    /// never returns or stores it unchecked: the table engine learns an
    /// entity's keys this way and accepts them only when their keyed hash is
    /// the record's key (docs/FORMAT.md "Tables", "Learning RowKeys").
    public static func unauthenticatedPrefix(
        of ciphertext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        using key: SecretBytes, nonce: some ContiguousBytes
    ) throws {
        guard output.count <= ciphertext.count else { throw CryptoError(.invalidInput, "asked for more plaintext than there is ciphertext") }
        guard output.count > 0 else { return }
        guard key.count == keySize else { throw CryptoError(.invalidInput, "AES-256-GCM needs a 32-byte key, got \(key.count) bytes") }
        guard let cipher = CipherContext.cipher else { throw CryptoError.openSSL("EVP_CIPHER_fetch(AES-256-GCM)") }
        let context = try CipherContext.forCurrentThread().context
        if ERR_peek_error() != 0 { OpenSSLErrorQueue.clear() }
        try key.withUnsafeBytes { k in
            try nonce.withUnsafeBytes { n in
                guard n.count == nonceSize else { throw CryptoError(.invalidInput, "AES-256-GCM needs a 12-byte nonce, got \(n.count)") }
                guard EVP_CipherInit_ex2(context, cipher, k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                         n.baseAddress!.assumingMemoryBound(to: UInt8.self), 0, nil) == 1 else {
                    throw CryptoError.openSSL("AES-256-GCM prefix")
                }
            }
        }
        var length: Int32 = 0
        guard EVP_CipherUpdate(context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length,
                               ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(output.count)) == 1,
              Int(length) == output.count else {
            throw CryptoError.openSSL("AES-256-GCM prefix")
        }
        // No final: the operation is left unfinished; the next use of the context starts anew with its own key.
    }

    /// Convenience: returns ciphertext ‖ tag.
    public static func seal(
        _ plaintext: some ContiguousBytes, using key: SecretBytes, nonce: some ContiguousBytes,
        authenticating aad: some ContiguousBytes = [UInt8]()
    ) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { input in
            // Not zeroed first: the cipher writes every byte before the tag.
            try [UInt8](unsafeUninitializedCapacity: input.count + tagSize) { buffer, initialized in
                let output = UnsafeMutableRawBufferPointer(buffer)
                let tag = try seal(input, into: UnsafeMutableRawBufferPointer(rebasing: output[..<input.count]),
                                   using: key, nonce: nonce, authenticating: aad)
                UnsafeMutableRawBufferPointer(rebasing: output[input.count...]).copyBytes(from: tag)
                initialized = output.count
            }
        }
    }

    /// Convenience: opens ciphertext ‖ tag.
    public static func open(
        _ sealed: some ContiguousBytes, using key: SecretBytes, nonce: some ContiguousBytes,
        authenticating aad: some ContiguousBytes = [UInt8]()
    ) throws -> [UInt8] {
        try sealed.withUnsafeBytes { input in
            guard input.count >= tagSize else {
                throw CryptoError(.authenticationFailure, "sealed data shorter than the tag")
            }
            let body = UnsafeRawBufferPointer(rebasing: input[..<(input.count - tagSize)])
            let tag = UnsafeRawBufferPointer(rebasing: input[(input.count - tagSize)...])
            // Not zeroed first: the cipher writes every byte, and `open`
            // wipes them when the tag does not match (nothing is returned then).
            return try [UInt8](unsafeUninitializedCapacity: body.count) { buffer, initialized in
                try open(body, into: UnsafeMutableRawBufferPointer(buffer), tag: tag, using: key, nonce: nonce, authenticating: aad)
                initialized = body.count
            }
        }
    }
}

/// One reusable EVP cipher context per thread, with the AES-256-GCM cipher
/// fetched once per process (no fetch or allocation per call on the hot path).
final class CipherContext {
    let context: OpaquePointer

    init() throws {
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        self.context = context
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// The fetched cipher, shared by all threads (EVP_CIPHER objects are immutable).
    nonisolated(unsafe) static let cipher: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)

    private static let key = ThreadLocalKey()

    static func forCurrentThread() throws -> CipherContext { try key.object { try CipherContext() } }

    func run(
        encrypt: Bool, key: SecretBytes, nonce: some ContiguousBytes, aad: some ContiguousBytes,
        input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer, tag: UnsafeRawBufferPointer?
    ) throws -> [UInt8] {
        guard key.count == AESGCM.keySize else {
            throw CryptoError(.invalidInput, "AES-256-GCM needs a 32-byte key, got \(key.count) bytes")
        }
        var tagOut = [UInt8](repeating: 0, count: tag == nil ? AESGCM.tagSize : 0)
        try key.withUnsafeBytes { keyBytes in
            try nonce.withUnsafeBytes { nonceBytes in
                try aad.withUnsafeBytes { aadBytes in
                    try tagOut.withUnsafeMutableBytes { tagOutBytes in
                        try GCMOperation.run(context, key: keyBytes, encrypt: encrypt, nonce: nonceBytes, aad: aadBytes,
                                             input: input, output: output, tagIn: tag, tagOut: tagOutBytes)
                    }
                }
            }
        }
        return tagOut
    }
}

/// The one place that drives EVP for a GCM seal or open, shared by the
/// per-thread context and the key-bound `AESGCMContext`.
enum GCMOperation {
    /// `key` nil reuses the key schedule already in `context`.
    static func run(
        _ context: OpaquePointer, key: UnsafeRawBufferPointer?, encrypt: Bool,
        nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer,
        tagIn: UnsafeRawBufferPointer?, tagOut: UnsafeMutableRawBufferPointer
    ) throws {
        guard let cipher = CipherContext.cipher else { throw CryptoError.openSSL("EVP_CIPHER_fetch(AES-256-GCM)") }
        guard nonce.count == AESGCM.nonceSize else {
            throw CryptoError(.invalidInput, "AES-256-GCM needs a 12-byte nonce, got \(nonce.count)")
        }
        guard output.count >= input.count else { throw CryptoError(.invalidInput, "output buffer smaller than input") }
        // Per segment: peeking is cheaper than clearing an already empty queue.
        if ERR_peek_error() != 0 { OpenSSLErrorQueue.clear() }
        let op = encrypt ? "AES-256-GCM seal" : "AES-256-GCM open"
        let keyPointer = key.map { $0.baseAddress!.assumingMemoryBound(to: UInt8.self) }
        guard EVP_CipherInit_ex2(context, key == nil ? nil : cipher, keyPointer,
                                 nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), encrypt ? 1 : 0, nil) == 1 else {
            throw CryptoError.openSSL(op)
        }
        var outLength: Int32 = 0
        if aad.count > 0 {
            guard EVP_CipherUpdate(context, nil, &outLength, aad.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                   Int32(aad.count)) == 1 else { throw CryptoError.openSSL(op) }
        }
        // EVP takes int lengths: feed large inputs in chunks.
        var offset = 0
        let chunk = 1 << 30
        while offset < input.count {
            let n = min(chunk, input.count - offset)
            guard EVP_CipherUpdate(context, output.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                                   &outLength, input.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                                   Int32(n)) == 1 else { throw CryptoError.openSSL(op) }
            offset += n
        }
        var finalLength: Int32 = 0
        if let tagIn {
            guard tagIn.count == AESGCM.tagSize else {
                throw CryptoError(.authenticationFailure, "tag must be 16 bytes, got \(tagIn.count)")
            }
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagIn.count),
                                      UnsafeMutableRawPointer(mutating: tagIn.baseAddress!)) == 1 else {
                throw CryptoError.openSSL(op)
            }
            guard EVP_CipherFinal_ex(context, nil, &finalLength) == 1 else {
                OpenSSLErrorQueue.clear()
                throw CryptoError(.authenticationFailure, "AES-256-GCM authentication failed")
            }
            return
        }
        guard tagOut.count >= AESGCM.tagSize else { throw CryptoError(.invalidInput, "tag buffer smaller than 16 bytes") }
        guard EVP_CipherFinal_ex(context, nil, &finalLength) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(AESGCM.tagSize), tagOut.baseAddress) == 1 else {
            throw CryptoError.openSSL(op)
        }
    }
}

/// A pthread TLS key whose values are retained objects released at thread exit.
final class ThreadLocalKey: @unchecked Sendable {
    private var key = pthread_key_t()

    init() {
        pthread_key_create(&key) { value in
            if let value { Unmanaged<AnyObject>.fromOpaque(value).release() }
        }
    }

    func get() -> UnsafeMutableRawPointer? { pthread_getspecific(key) }
    func set(_ value: UnsafeMutableRawPointer) { pthread_setspecific(key, value) }

    /// The calling thread's object, made by `make` on the thread's first use (released at thread exit).
    func object<T: AnyObject>(_ make: () throws -> T) rethrows -> T {
        if let existing = get() { return Unmanaged<T>.fromOpaque(existing).takeUnretainedValue() }
        let made = try make()
        set(Unmanaged.passRetained(made).toOpaque())
        return made
    }
}
