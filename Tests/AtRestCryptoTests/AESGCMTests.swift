import Testing
@testable import AtRestCrypto

@Suite struct AESGCMBasicsTests {
    @Test func sealOpenRoundTripAndTamperDetection() throws {
        let key = try SecretBytes(randomCount: 32)
        let nonce = try SecureRandom.bytes(12)
        let plaintext = Array("attack at dawn".utf8)
        var sealed = try AESGCM.seal(plaintext, using: key, nonce: nonce, authenticating: Array("aad".utf8))
        #expect(sealed.count == plaintext.count + 16)
        #expect(try AESGCM.open(sealed, using: key, nonce: nonce, authenticating: Array("aad".utf8)) == plaintext)
        sealed[0] ^= 1
        #expect(throws: CryptoError.self) {
            try AESGCM.open(sealed, using: key, nonce: nonce, authenticating: Array("aad".utf8))
        }
    }

    @Test func secretBytesNeverPrintsItsBytes() throws {
        let key = SecretBytes([0xde, 0xad, 0xbe, 0xef])
        #expect(!"\(key)".contains("de"))
        #expect("\(key)".contains("redacted"))
        #expect(key == SecretBytes([0xde, 0xad, 0xbe, 0xef]))
        #expect(key != SecretBytes([0xde, 0xad, 0xbe, 0xee]))
    }
}
