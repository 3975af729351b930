import Testing
@testable import AtRestCrypto

/// The published GCM test cases for 256-bit keys (McGrew & Viega, "The
/// Galois/Counter Mode of Operation", test cases 13–16).
@Suite struct GCMKnownAnswerTests {
    struct Vector: Sendable, CustomStringConvertible {
        var name: String, key: String, iv: String, plaintext: String, aad: String, ciphertext: String, tag: String
        var description: String { name }
    }

    static let key15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    static let p15 = """
        d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
        1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255
        """
    static let c15 = """
        522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
        8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad
        """

    static let vectors: [Vector] = [
        Vector(name: "TC13", key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12),
               plaintext: "", aad: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        Vector(name: "TC14", key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12),
               plaintext: String(repeating: "00", count: 16), aad: "",
               ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        Vector(name: "TC15", key: key15, iv: "cafebabefacedbaddecaf888", plaintext: p15, aad: "",
               ciphertext: c15, tag: "b094dac5d93471bdec1a502270e3cc6c"),
        Vector(name: "TC16", key: key15, iv: "cafebabefacedbaddecaf888",
               plaintext: String(hexString(hex(p15)).prefix(120)), aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
               ciphertext: String(hexString(hex(c15)).prefix(120)), tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    @Test(arguments: vectors) func sealMatchesPublishedVector(_ v: Vector) throws {
        let key = SecretBytes(hex(v.key))
        let sealed = try AESGCM.seal(hex(v.plaintext), using: key, nonce: hex(v.iv), authenticating: hex(v.aad))
        #expect(hexString(sealed) == hexString(hex(v.ciphertext) + hex(v.tag)))
        let opened = try AESGCM.open(sealed, using: key, nonce: hex(v.iv), authenticating: hex(v.aad))
        #expect(opened == hex(v.plaintext))
    }

    /// The key-bound context (segment hot path) gives the same bytes, in place.
    @Test(arguments: vectors) func keyBoundContextMatchesInPlace(_ v: Vector) throws {
        let context = try AESGCMContext(key: SecretBytes(hex(v.key)))
        var buffer = hex(v.plaintext)
        var tag = [UInt8](repeating: 0, count: 16)
        let nonce = hex(v.iv), aad = hex(v.aad)
        try buffer.withUnsafeMutableBytes { b in
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try tag.withUnsafeMutableBytes { t in
                        try context.seal(UnsafeRawBufferPointer(b), into: b, nonce: n, aad: a, tag: t)
                    }
                }
            }
        }
        #expect(buffer == hex(v.ciphertext))
        #expect(tag == hex(v.tag))
        // Open with the same context (switches direction without a new key schedule).
        try buffer.withUnsafeMutableBytes { b in
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try tag.withUnsafeBytes { t in try context.open(UnsafeRawBufferPointer(b), into: b, nonce: n, aad: a, tag: t) }
                }
            }
        }
        #expect(buffer == hex(v.plaintext))
    }
}
