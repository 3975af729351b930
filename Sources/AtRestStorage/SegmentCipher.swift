import AtRestCrypto

/// Seals and opens one object's segments and metadata block under its object
/// key. Segment nonce = 7-byte random prefix ‖ u32 index ‖ last flag (0/1);
/// segment AAD = SHA-256 of the fixed header. Changing the index, the flag,
/// the header or the key makes the tag check fail, which is how reordering,
/// dropping, duplicating, truncating and splicing are all caught.
final class SegmentCipher {
    static let tagSize = AESGCM.tagSize
    static let metadataLabel = Array("atrest/v1/meta".utf8)

    let header: ObjectHeader
    let fixedHeader: [UInt8]
    /// The metadata block's cipher (object key).
    private let gcm: AESGCMContext
    /// The segments' cipher: the object key's, or with `.customerKey` the
    /// content key's; nil when that key was not given (only the metadata opens).
    private let segmentGCM: AESGCMContext?
    private let headerHash: [UInt8]
    private var nonce: [UInt8]

    /// `customerKey`: for a header with `.customerKey`, the verified key
    /// its content was sealed with (nil: segments cannot be opened).
    init(header: ObjectHeader, accountKey: AccountKey, context: [UInt8], customerKey: SecretBytes?) throws {
        self.header = header
        fixedHeader = try header.encode()
        let objectKey = try accountKey.objectKey(salt: header.salt, context: context)
        gcm = try AESGCMContext(key: objectKey)
        if header.flags.contains(.customerKey) {
            segmentGCM = try customerKey.map {
                try AESGCMContext(key: try CustomerKeyCheck.contentKey(customerKey: $0, objectKey: objectKey, context: context))
            }
        } else {
            segmentGCM = gcm
        }
        headerHash = try SHA256.hash(fixedHeader)
        nonce = header.noncePrefix + [0, 0, 0, 0, 0]
    }

    var segmentSize: Int { header.segmentSize }

    private func setNonce(index: UInt32, last: Bool) {
        nonce[7] = UInt8(index >> 24); nonce[8] = UInt8((index >> 16) & 0xff)
        nonce[9] = UInt8((index >> 8) & 0xff); nonce[10] = UInt8(index & 0xff)
        nonce[11] = last ? 1 : 0
    }

    /// Seals `input` (≤ segment size) into `output` as ciphertext ‖ tag.
    func seal(index: UInt32, last: Bool, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let gcm = try contentCipher()
        setNonce(index: index, last: last)
        try nonce.withUnsafeBytes { n in
            try headerHash.withUnsafeBytes { aad in
                try gcm.seal(input, into: output, nonce: n, aad: aad,
                             tag: UnsafeMutableRawBufferPointer(rebasing: output[input.count..<(input.count + Self.tagSize)]))
            }
        }
    }

    /// Opens ciphertext ‖ tag into `output`; any mismatch is an integrity failure.
    func open(index: UInt32, last: Bool, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard input.count >= Self.tagSize else { throw StorageError.integrity("segment \(index) shorter than its tag") }
        let bodyCount = input.count - Self.tagSize
        let gcm = try contentCipher()
        setNonce(index: index, last: last)
        do {
            try nonce.withUnsafeBytes { n in
                try headerHash.withUnsafeBytes { aad in
                    try gcm.open(UnsafeRawBufferPointer(rebasing: input[..<bodyCount]), into: output, nonce: n, aad: aad,
                                 tag: UnsafeRawBufferPointer(rebasing: input[bodyCount...]))
                }
            }
        } catch is CryptoError {
            throw StorageError.integrity("segment \(index) does not authenticate")
        }
    }

    private func contentCipher() throws -> AESGCMContext {
        guard let segmentGCM else {
            throw StorageError(.customerKeyRequired, "this blob is encrypted with a customer-provided key; send the key")
        }
        return segmentGCM
    }

    /// The metadata block: random nonce (12) ‖ u32 length ‖ ciphertext ‖ tag,
    /// with AAD "atrest/v1/meta" ‖ fixed header.
    func sealMetadata(_ metadata: ObjectMetadata) throws -> [UInt8] {
        let plain = try metadata.encode()
        let metaNonce = try SecureRandom.bytes(AESGCM.nonceSize)
        var w = ByteWriter(capacity: plain.count + 32)
        w.raw(metaNonce)
        w.u32(UInt32(plain.count))
        var sealed = [UInt8](repeating: 0, count: plain.count + Self.tagSize)
        let aad = Self.metadataLabel + fixedHeader
        try plain.withUnsafeBytes { p in
            try sealed.withUnsafeMutableBytes { s in
                try metaNonce.withUnsafeBytes { n in
                    try aad.withUnsafeBytes { a in
                        try gcm.seal(p, into: s, nonce: n, aad: a, tag: UnsafeMutableRawBufferPointer(rebasing: s[plain.count...]))
                    }
                }
            }
        }
        w.raw(sealed)
        return w.bytes
    }

    /// Opens a metadata block (everything after the u32 length prefix is `sealed`).
    func openMetadata(nonce metaNonce: [UInt8], sealed: [UInt8]) throws -> ObjectMetadata {
        guard sealed.count >= Self.tagSize else { throw StorageError.integrity("metadata block too short") }
        let count = sealed.count - Self.tagSize
        var plain = [UInt8](repeating: 0, count: count)
        let aad = Self.metadataLabel + fixedHeader
        do {
            try sealed.withUnsafeBytes { s in
                try plain.withUnsafeMutableBytes { p in
                    try metaNonce.withUnsafeBytes { n in
                        try aad.withUnsafeBytes { a in
                            try gcm.open(UnsafeRawBufferPointer(rebasing: s[..<count]), into: p, nonce: n, aad: a,
                                         tag: UnsafeRawBufferPointer(rebasing: s[count...]))
                        }
                    }
                }
            }
        } catch is CryptoError {
            throw StorageError.integrity("metadata block does not authenticate")
        }
        return try ObjectMetadata.decode(plain)
    }
}

/// Sizes of the data region: every segment is stored as ciphertext ‖ 16-byte
/// tag; an object has at least one segment (an empty object is one empty segment).
enum SegmentLayout {
    static func segmentCount(length: UInt64, segmentSize: Int) -> UInt64 {
        length == 0 ? 1 : (length + UInt64(segmentSize) - 1) / UInt64(segmentSize)
    }

    static func sealedSize(length: UInt64, segmentSize: Int) -> UInt64 {
        length + segmentCount(length: length, segmentSize: segmentSize) * UInt64(SegmentCipher.tagSize)
    }

    /// The plaintext length a data region of `sealedSize` bytes must hold, or nil if no length fits.
    static func plaintextLength(sealedSize: UInt64, segmentSize: Int) -> UInt64? {
        let stride = UInt64(segmentSize + SegmentCipher.tagSize)
        let full = sealedSize / stride, rest = sealedSize % stride
        if rest == 0 { return full == 0 ? nil : full * UInt64(segmentSize) }
        guard rest >= UInt64(SegmentCipher.tagSize) else { return nil }
        // A short final segment after full ones, or the single empty segment.
        if rest == UInt64(SegmentCipher.tagSize) && full > 0 { return nil }
        return full * UInt64(segmentSize) + rest - UInt64(SegmentCipher.tagSize)
    }
}
