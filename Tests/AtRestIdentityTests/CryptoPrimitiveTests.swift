@testable import AtRestCrypto
import Testing
import AtRestTokens

/// Ed25519 (RFC 8032 §7.1 vectors), PBKDF2 hashes and base64url.
@Suite struct CryptoPrimitiveTests {
    struct Vector: Sendable {
        var secret: String, publicKey: String, message: String, signature: String
    }

    static let rfc8032: [Vector] = [
        .init(secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
              publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", message: "",
              signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        .init(secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
              publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", message: "72",
              signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        .init(secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
              publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", message: "af82",
              signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        // TEST SHA(abc): the message is SHA-512("abc").
        .init(secret: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
              publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
              message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
              signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
    ]

    @Test(arguments: rfc8032) func ed25519MatchesRFC8032(vector: Vector) throws {
        let key = try Ed25519.PrivateKey(rawRepresentation: SecretBytes(hex(vector.secret)))
        #expect(key.publicKey.rawRepresentation == hex(vector.publicKey))
        let signature = try key.signature(for: hex(vector.message))
        #expect(signature == hex(vector.signature))
        let publicKey = try Ed25519.PublicKey(rawRepresentation: hex(vector.publicKey))
        #expect(publicKey.isValidSignature(signature, for: hex(vector.message)))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!publicKey.isValidSignature(flipped, for: hex(vector.message)))
        #expect(!publicKey.isValidSignature(signature, for: hex(vector.message) + [0]))
        #expect(!publicKey.isValidSignature(Array(signature.prefix(63)), for: hex(vector.message)))
    }

    @Test func ed25519KeysNeverPrintTheirBytesAndRejectBadSizes() throws {
        let key = try Ed25519.PrivateKey()
        let secretHex = key.rawRepresentation.withUnsafeBytes { Hex.encode($0) }
        #expect(!"\(key)".contains(secretHex))
        #expect(throws: CryptoError.self) { try Ed25519.PrivateKey(rawRepresentation: SecretBytes([1, 2, 3])) }
        #expect(throws: CryptoError.self) { try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 0, count: 31)) }
        let other = try Ed25519.PrivateKey()
        #expect(!other.publicKey.isValidSignature(try key.signature(for: [1, 2, 3]), for: [1, 2, 3]))
    }

    @Test func passwordHashVerifiesOnlyTheRightSecretAndRoundTrips() throws {
        let hash = try PasswordHash(hashing: Array("correct horse".utf8), iterations: 1000)
        #expect(hash.verify(Array("correct horse".utf8)))
        #expect(!hash.verify(Array("correct horsf".utf8)))
        #expect(!hash.verify([UInt8]()))
        let parsed = try PasswordHash(encoded: hash.encoded)
        #expect(parsed == hash)
        #expect(parsed.verify(Array("correct horse".utf8)))
        #expect(hash.encoded.hasPrefix("$pbkdf2-sha256$i=1000$"))
        // Same secret, fresh salt: a different string.
        #expect(try PasswordHash(hashing: Array("correct horse".utf8), iterations: 1000).encoded != hash.encoded)
        #expect(!"\(hash)".contains(hash.encoded.split(separator: "$").last!))
        for bad in ["", "$pbkdf2-sha256$i=0$AAAA$AAAA", "$scrypt$i=10$AAAA$AAAA", "$pbkdf2-sha256$i=10$!!$AAAA"] {
            #expect(throws: CryptoError.self) { try PasswordHash(encoded: bad) }
        }
    }

    @Test func passwordHashMatchesOpenSSLsPBKDF2() throws {
        // RFC 7914 §11 PBKDF2-HMAC-SHA256 vector ("passwd", "salt", c=1, 64 bytes): first 32 bytes.
        let derived = try PasswordHash.derive(Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1)
        #expect(derived == hex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"))
    }

    @Test func base64URLIsStrictAndRoundTrips() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.encode(Array("abc?>".utf8)) == "YWJjPz4")
        #expect(Base64URL.decode("YWJjPz4=") == nil)      // padding
        #expect(Base64URL.decode("YWJj Pz4") == nil)      // whitespace
        #expect(Base64URL.decode("YWJjPz+") == nil)       // '+' is base64, not base64url
        #expect(Base64URL.decode("YWJjP") == nil)         // impossible length
        #expect(Base64URL.decode("YWJjPz5") == nil)       // non-zero unused bits
    }
}
