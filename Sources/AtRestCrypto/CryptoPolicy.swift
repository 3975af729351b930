internal import COpenSSL
import Glibc

/// Process-wide crypto policy: the FIPS switch.
///
/// AtRest only uses FIPS-approved algorithms (AES-256-GCM, SHA-256,
/// HMAC-SHA256, HKDF-SHA256, DRBG); this switch additionally makes OpenSSL
/// serve them from its FIPS provider. Call it first thing at start-up, before
/// any other crypto API: algorithms are fetched once per process and kept.
public enum CryptoPolicy {
    /// The environment variable services read at start-up (`ATREST_FIPS=1`).
    public static let environmentVariable = "ATREST_FIPS"

    /// Loads the "fips" and "base" providers and sets the default property
    /// query to "fips=yes". Throws `.fipsUnavailable` when the FIPS provider
    /// cannot be loaded (Debian 12 ships none); the caller should refuse to start.
    public static func enableFIPS() throws {
        OpenSSLErrorQueue.clear()
        guard OSSL_PROVIDER_load(nil, "fips") != nil else {
            let queue = OpenSSLErrorQueue.drain()
            throw CryptoError(.fipsUnavailable,
                              "the OpenSSL FIPS provider could not be loaded (install and configure fips.so, see docs/OPERATIONS-crypto.md)"
                                + (queue.isEmpty ? "" : ": \(queue)"))
        }
        // "base" supplies encoders/decoders; harmless when already loaded.
        _ = OSSL_PROVIDER_load(nil, "base")
        guard EVP_default_properties_enable_fips(nil, 1) == 1 else {
            throw CryptoError(.fipsUnavailable, "could not set default properties fips=yes: \(OpenSSLErrorQueue.drain())")
        }
        do {
            try checkFetchedAlgorithmsAreFIPS()
        } catch {
            _ = EVP_default_properties_enable_fips(nil, 0)
            throw error
        }
    }

    /// True when the default property query requires FIPS implementations.
    public static var isFIPSEnabled: Bool { EVP_default_properties_is_fips_enabled(nil) == 1 }

    /// Applies the switch from the environment: with `ATREST_FIPS=1` FIPS is
    /// required (throws when unavailable); otherwise nothing changes.
    public static func applyFromEnvironment() throws {
        guard let value = getenv(environmentVariable), String(cString: value) == "1" else { return }
        try enableFIPS()
    }

    /// Every algorithm the process caches must come from the FIPS provider;
    /// otherwise something fetched before `enableFIPS()` was called.
    static func checkFetchedAlgorithmsAreFIPS() throws {
        let fetched: [(String, OpaquePointer?)] = [
            ("AES-256-GCM", CipherContext.cipher.map { EVP_CIPHER_get0_provider($0) } ?? nil),
            ("SHA256", SHA256.md.map { EVP_MD_get0_provider($0) } ?? nil),
            ("HMAC", HMACSHA256.mac.map { EVP_MAC_get0_provider($0) } ?? nil),
            ("HKDF", HKDF.kdf.map { EVP_KDF_get0_provider($0) } ?? nil),
        ]
        for (name, provider) in fetched {
            guard let provider, let providerName = OSSL_PROVIDER_get0_name(provider) else {
                throw CryptoError(.fipsUnavailable, "\(name) is not available from the FIPS provider")
            }
            let text = String(cString: providerName)
            guard text == "fips" else {
                throw CryptoError(.fipsUnavailable, "\(name) was fetched from provider '\(text)' before FIPS was enabled; call CryptoPolicy.enableFIPS() first")
            }
        }
    }
}
