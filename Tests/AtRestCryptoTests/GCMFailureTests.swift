import Testing
@testable import AtRestCrypto

/// Every way a sealed message can be wrong must fail as `.authenticationFailure`.
@Suite struct GCMFailureTests {
    let key: SecretBytes
    let nonce: [UInt8]
    let aad = Array("header-hash".utf8)
    let plaintext = Array(0..<200).map { UInt8($0 & 0xff) }
    let sealed: [UInt8]

    init() throws {
        key = try SecretBytes(randomCount: 32)
        nonce = try SecureRandom.bytes(12)
        sealed = try AESGCM.seal(plaintext, using: key, nonce: nonce, authenticating: aad)
    }

    private func expectAuthFailure(sealed: [UInt8]? = nil, key: SecretBytes? = nil, nonce: [UInt8]? = nil, aad: [UInt8]? = nil) {
        do {
            _ = try AESGCM.open(sealed ?? self.sealed, using: key ?? self.key, nonce: nonce ?? self.nonce, authenticating: aad ?? self.aad)
            Issue.record("open succeeded on bad input")
        } catch let error as CryptoError {
            #expect(error.code == .authenticationFailure)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func wrongKey() throws { expectAuthFailure(key: try SecretBytes(randomCount: 32)) }
    @Test func wrongAAD() { expectAuthFailure(aad: Array("header-hasi".utf8)) }
    @Test func missingAAD() { expectAuthFailure(aad: []) }

    @Test func flippedBitInCiphertext() {
        for index in [0, 57, 199] {
            var s = sealed; s[index] ^= 0x10
            expectAuthFailure(sealed: s)
        }
    }

    @Test func flippedBitInTag() {
        for index in 200..<216 {
            var s = sealed; s[index] ^= 0x01
            expectAuthFailure(sealed: s)
        }
    }

    @Test func flippedBitInNonce() {
        for index in 0..<12 {
            var n = nonce; n[index] ^= 0x80
            expectAuthFailure(nonce: n)
        }
    }

    @Test func truncatedTag() {
        expectAuthFailure(sealed: Array(sealed.dropLast()))
        expectAuthFailure(sealed: Array(sealed.dropLast(4)))
        expectAuthFailure(sealed: Array(sealed.prefix(10)))
    }

    @Test func failedOpenLeavesNoPlaintext() throws {
        var output = [UInt8](repeating: 0xaa, count: plaintext.count)
        var badTag = Array(sealed.suffix(16)); badTag[0] ^= 1
        let body = Array(sealed.prefix(plaintext.count))
        #expect(throws: CryptoError.self) {
            try body.withUnsafeBytes { b in
                try output.withUnsafeMutableBytes { o in
                    try AESGCM.open(b, into: o, tag: badTag, using: key, nonce: nonce, authenticating: aad)
                }
            }
        }
        #expect(output.allSatisfy { $0 == 0 })
    }

    @Test func badSizesAreInvalidInput() {
        #expect(throws: CryptoError(.invalidInput, "AES-256-GCM needs a 32-byte key, got 16 bytes")) {
            try AESGCM.seal(plaintext, using: SecretBytes([UInt8](repeating: 1, count: 16)), nonce: nonce)
        }
        #expect(throws: CryptoError.self) { try AESGCM.seal(plaintext, using: key, nonce: [UInt8](repeating: 0, count: 8)) }
    }
}
