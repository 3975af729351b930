import Testing
@testable import AtRestCrypto

/// RFC 5869 (HKDF-SHA256, test cases 1–3), RFC 4231 (HMAC-SHA256) and FIPS 180 SHA-256 vectors.
@Suite struct KDFAndMACKnownAnswerTests {
    @Test func hkdfRFC5869Case1() throws {
        let okm = try HKDF.deriveKey(from: SecretBytes([UInt8](repeating: 0x0b, count: 22)),
                                     salt: hex("000102030405060708090a0b0c"), info: hex("f0f1f2f3f4f5f6f7f8f9"), outputCount: 42)
        #expect(okm == SecretBytes(hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")))
    }

    @Test func hkdfRFC5869Case2() throws {
        let okm = try HKDF.deriveKey(from: SecretBytes((0x00...0x4f).map { UInt8($0) }),
                                     salt: (0x60...0xaf).map { UInt8($0) }, info: (0xb0...0xff).map { UInt8($0) }, outputCount: 82)
        #expect(okm == SecretBytes(hex("""
            b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09
            da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87
            """)))
    }

    @Test func hkdfRFC5869Case3EmptySaltAndInfo() throws {
        let okm = try HKDF.deriveKey(from: SecretBytes([UInt8](repeating: 0x0b, count: 22)), salt: [UInt8](), info: [UInt8](), outputCount: 42)
        #expect(okm == SecretBytes(hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")))
    }

    @Test func hkdfRejectsBadLengths() {
        #expect(throws: CryptoError.self) { try HKDF.deriveKey(from: SecretBytes([1]), salt: [UInt8](), info: [UInt8](), outputCount: 0) }
        #expect(throws: CryptoError.self) { try HKDF.deriveKey(from: SecretBytes([1]), salt: [UInt8](), info: [UInt8](), outputCount: 9000) }
    }

    struct MACVector: Sendable, CustomStringConvertible {
        var name: String, key: [UInt8], data: [UInt8], mac: String
        var description: String { name }
    }

    static let macVectors: [MACVector] = [
        MACVector(name: "RFC4231-1", key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8),
                  mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        MACVector(name: "RFC4231-2", key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8),
                  mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        MACVector(name: "RFC4231-3", key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50),
                  mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        MACVector(name: "RFC4231-4", key: (0x01...0x19).map { UInt8($0) }, data: [UInt8](repeating: 0xcd, count: 50),
                  mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        MACVector(name: "RFC4231-6", key: [UInt8](repeating: 0xaa, count: 131),
                  data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                  mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        MACVector(name: "RFC4231-7", key: [UInt8](repeating: 0xaa, count: 131),
                  data: Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
                  mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test(arguments: macVectors) func hmacRFC4231(_ v: MACVector) throws {
        let mac = try HMACSHA256.authenticate(v.data, using: SecretBytes(v.key))
        #expect(hexString(mac) == v.mac)
        #expect(try HMACSHA256.verify(hex(v.mac), for: v.data, using: SecretBytes(v.key)))
        var wrong = hex(v.mac); wrong[31] ^= 1
        #expect(try !HMACSHA256.verify(wrong, for: v.data, using: SecretBytes(v.key)))
    }

    @Test func sha256KnownAnswersAndStreaming() throws {
        #expect(hexString(try SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(try SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let hasher = try SHA256()
        for part in ["ab", "c"] { try hasher.update(Array(part.utf8)) }
        #expect(hexString(try hasher.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func constantTimeEquals() {
        #expect(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
    }
}
