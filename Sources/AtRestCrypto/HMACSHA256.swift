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
        var out = [UInt8](repeating: 0, count: macSize)
        try key.withUnsafeBytes { k in
            try out.withUnsafeMutableBytes { try authenticate(parts: parts, key: k, into: $0) }
        }
        return out
    }

    /// HMAC over `parts` under raw `key` bytes into `out` (≥ 32 bytes); for
    /// derivations whose keys live in `SecretBytes` and outputs go straight
    /// into `SecretBytes`, so no key-derived bytes pass through arrays.
    static func authenticate(parts: [UnsafeRawBufferPointer], key: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
        guard key.count > 0 else { throw CryptoError(.invalidInput, "HMAC key must not be empty") }
        precondition(out.count >= macSize, "HMAC output buffer too small")
        try MACContext.forCurrentThread().run(parts: parts, key: key, into: out)
    }

    /// Constant-time check of a received MAC.
    public static func verify(_ mac: some ContiguousBytes, for message: some ContiguousBytes, using key: SecretBytes) throws -> Bool {
        ConstantTime.equals(try authenticate(message, using: key), mac)
    }
}

/// One reusable HMAC-SHA256 context per thread, with the digest set once:
/// creating a context and setting its "digest" parameter per call fetches
/// SHA-256 again each time (a locked lookup by name), which dominated the
/// cost of a short MAC. After each use the context is re-keyed with a fixed
/// dummy key, so no state derived from the caller's key stays behind.
final class MACContext {
    private let context: OpaquePointer
    private static let scrubKey = [UInt8](repeating: 0, count: 32)

    init() throws {
        guard let mac = HMACSHA256.mac else { throw CryptoError.openSSL("EVP_MAC_fetch(HMAC)") }
        guard let context = EVP_MAC_CTX_new(mac) else { throw CryptoError.openSSL("EVP_MAC_CTX_new") }
        self.context = context
        var params = [
            OSSL_PARAM_construct_utf8_string(OSSLParamNames.digest, OSSLParamNames.sha256, 0),
            OSSL_PARAM_construct_end(),
        ]
        guard EVP_MAC_CTX_set_params(context, &params) == 1 else {
            EVP_MAC_CTX_free(context)
            throw CryptoError.openSSL("HMAC-SHA256 set digest")
        }
    }

    deinit { EVP_MAC_CTX_free(context) }

    private static let key = ThreadLocalKey()

    static func forCurrentThread() throws -> MACContext {
        if let existing = key.get() { return Unmanaged<MACContext>.fromOpaque(existing).takeUnretainedValue() }
        let context = try MACContext()
        key.set(Unmanaged.passRetained(context).toOpaque())
        return context
    }

    func run(parts: [UnsafeRawBufferPointer], key: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
        defer { scrub() }
        guard EVP_MAC_init(context, key.baseAddress!.assumingMemoryBound(to: UInt8.self), key.count, nil) == 1 else {
            throw CryptoError.openSSL("HMAC-SHA256 init")
        }
        for part in parts where part.count > 0 {
            guard EVP_MAC_update(context, part.baseAddress!.assumingMemoryBound(to: UInt8.self), part.count) == 1 else {
                throw CryptoError.openSSL("HMAC-SHA256 update")
            }
        }
        var length = 0
        guard EVP_MAC_final(context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, out.count) == 1,
              length == HMACSHA256.macSize else {
            throw CryptoError.openSSL("HMAC-SHA256 final")
        }
    }

    private func scrub() {
        _ = Self.scrubKey.withUnsafeBufferPointer { EVP_MAC_init(context, $0.baseAddress, $0.count, nil) }
    }
}
