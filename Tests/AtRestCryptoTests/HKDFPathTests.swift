import Testing
@testable import AtRestCrypto

/// The default HKDF runs over the per-thread HMAC context; OpenSSL's
/// `EVP_KDF` HKDF (used in FIPS mode) is the reference it must match.
@Suite struct HKDFPathTests {
    @Test(arguments: [1, 16, 31, 32, 33, 42, 64, 82, 200, 8160])
    func hmacPathMatchesEVPKDF(outputCount: Int) throws {
        let ikm = try SecretBytes(randomCount: 32)
        for salt in [[UInt8](), try SecureRandom.bytes(32), try SecureRandom.bytes(100)] {
            let info = try SecureRandom.bytes(outputCount % 50)
            let fast = try HKDF.deriveThroughHMAC(from: ikm, salt: salt, info: info, outputCount: outputCount)
            let reference = try HKDF.deriveThroughKDF(from: ikm, salt: salt, info: info, outputCount: outputCount)
            #expect(fast.count == outputCount)
            #expect(fast == reference, "salt \(salt.count) bytes, L = \(outputCount)")
        }
    }

    @Test func reusedMACContextKeepsNoStateBetweenKeys() throws {
        let a = try SecretBytes(randomCount: 32), b = try SecretBytes(randomCount: 32)
        let message = Array("same message".utf8)
        let first = try HMACSHA256.authenticate(message, using: a)
        let other = try HMACSHA256.authenticate(message, using: b)
        #expect(first != other)
        #expect(try HMACSHA256.authenticate(message, using: a) == first)
        // Parts are the concatenation, whatever the split.
        let joined = try HMACSHA256.authenticate(Array("abcdef".utf8), using: a)
        let parts = try Array("abc".utf8).withUnsafeBytes { x in
            try Array("def".utf8).withUnsafeBytes { y in try HMACSHA256.authenticate(parts: [x, UnsafeRawBufferPointer(start: nil, count: 0), y], using: a) }
        }
        #expect(parts == joined)
    }

    /// The composed HMAC (the default) against `EVP_MAC`'s (FIPS mode's), for keys shorter than, equal to
    /// and longer than SHA-256's block, messages of 0-300 bytes given in parts, and one context reused throughout.
    @Test func composedHMACMatchesEVPMAC() throws {
        let composed = try DigestMACContext(), reference = try MACContext()
        for keyCount in [1, 16, 32, 63, 64, 65, 100, 131, 200] {
            for messageCount in [0, 1, 55, 56, 64, 119, 120, 300] {
                let key = try SecureRandom.bytes(keyCount), message = try SecureRandom.bytes(messageCount)
                let split = messageCount / 3
                var fast = [UInt8](repeating: 0, count: 32), slow = [UInt8](repeating: 0, count: 32)
                try key.withUnsafeBytes { k in
                    try message.withUnsafeBytes { m in
                        let parts = [UnsafeRawBufferPointer(rebasing: m[..<split]), UnsafeRawBufferPointer(rebasing: m[split...])]
                        try fast.withUnsafeMutableBytes { try composed.run(parts: parts, key: k, into: $0) }
                        try slow.withUnsafeMutableBytes { try reference.run(parts: [m], key: k, into: $0) }
                    }
                }
                #expect(fast == slow, "key \(keyCount) bytes, message \(messageCount) bytes")
            }
        }
    }

    @Test func emptyKeyIsRejected() {
        #expect(throws: CryptoError.self) { try HMACSHA256.authenticate([UInt8](), using: SecretBytes([UInt8]())) }
    }
}
