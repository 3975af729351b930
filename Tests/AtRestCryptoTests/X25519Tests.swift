import AtRestCrypto
import Testing

/// X25519 against RFC 7748 section 6.1, and bad peer keys.
@Suite struct X25519Tests {
    static let alicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
    static let alicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    static let bobPrivate = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
    static let bobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    static let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

    @Test func rfc7748DiffieHellmanVector() throws {
        let alice = SecretBytes(hex(Self.alicePrivate))
        let bob = SecretBytes(hex(Self.bobPrivate))
        #expect(try X25519.publicKey(for: alice) == hex(Self.alicePublic))
        #expect(try X25519.publicKey(for: bob) == hex(Self.bobPublic))
        let ab = try X25519.sharedSecret(alice, peerPublicKey: hex(Self.bobPublic))
        let ba = try X25519.sharedSecret(bob, peerPublicKey: hex(Self.alicePublic))
        #expect(ab == SecretBytes(hex(Self.shared)))
        #expect(ab == ba)
    }

    @Test func rejectsLowOrderAndMalformedPeers() throws {
        let key = try X25519.generatePrivateKey()
        // The all-zero point has small order: the shared secret would be all zeros.
        #expect(throws: CryptoError.self) { _ = try X25519.sharedSecret(key, peerPublicKey: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: CryptoError.self) { _ = try X25519.sharedSecret(key, peerPublicKey: [1, 2, 3]) }
        #expect(throws: CryptoError.self) { _ = try X25519.publicKey(for: SecretBytes([1, 2])) }
    }
}
