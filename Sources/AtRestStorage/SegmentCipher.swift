import AtRestCrypto

/// Seals and opens one object's segments and metadata block under its object
/// key. Segment nonce = 7-byte random prefix ‖ u32 index ‖ last flag (0/1);
/// segment AAD = SHA-256 of the fixed header. Changing the index, the flag,
/// the header or the key makes the tag check fail, which is how reordering,
/// dropping, duplicating, truncating and splicing are all caught.
///
/// With the infrastructure layer (header flag bit 2) every segment and the
/// metadata block are sealed twice with the same nonce and AAD under two
/// independent keys: inner under the infrastructure object key, outer under
/// the object key (ciphertext ‖ inner tag ‖ outer tag).
///
/// With a customer-provided key (header flag bit 1) the segments' outer
/// layer is under the content key derived from that key and the object key;
/// the metadata block stays under the object key.
final class SegmentCipher {
    static let tagSize = AESGCM.tagSize
    static let metadataLabel = Array("atrest/v1/meta".utf8)

    let header: ObjectHeader
    let fixedHeader: [UInt8]
    /// The metadata block's cipher (object key).
    private let gcm: AESGCMContext
    /// The segments' outer cipher: the object key's, or with `.customerKey` the
    /// content key's; nil when that key was not given (only the metadata opens).
    private let segmentGCM: AESGCMContext?
    /// The infrastructure layer (inner), when the header has it.
    private let inner: AESGCMContext?
    /// Holds the outer layer's plaintext (inner ciphertext ‖ inner tag) while opening.
    private var innerScratch: UnsafeMutableRawBufferPointer?
    private let headerHash: [UInt8]
    private var nonce: [UInt8]
    /// Bytes a segment or the metadata block adds to its plaintext (16 per layer).
    let overhead: Int

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
        if let layer = header.infrastructure {
            guard let infrastructure = accountKey.infrastructure else {
                throw StorageError(.wrongKey, "object is sealed with the infrastructure layer (infrastructure key version \(layer.accountKeyVersion)), but no infrastructure key was given")
            }
            guard infrastructure.accountKeyVersion == layer.accountKeyVersion,
                  ConstantTimeCheck.equal(infrastructure.checkValue, layer.checkValue) else {
                throw StorageError(.wrongKey, "the infrastructure key given (version \(infrastructure.accountKeyVersion)) does not match the key the object's infrastructure layer was written with (version \(layer.accountKeyVersion))")
            }
            inner = try AESGCMContext(key: try infrastructure.objectKey(salt: header.salt, context: context))
        } else {
            inner = nil
        }
        overhead = header.sealOverhead
        headerHash = try SHA256.hash(fixedHeader)
        nonce = header.noncePrefix + [0, 0, 0, 0, 0]
    }

    deinit { innerScratch?.deallocate() }

    var segmentSize: Int { header.segmentSize }

    private func scratch(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if let innerScratch, innerScratch.count >= count { return innerScratch }
        innerScratch?.deallocate()
        let fresh = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, header.segmentSize + Self.tagSize), alignment: 64)
        innerScratch = fresh
        return fresh
    }

    private func setNonce(index: UInt32, last: Bool) {
        nonce[7] = UInt8(index >> 24); nonce[8] = UInt8((index >> 16) & 0xff)
        nonce[9] = UInt8((index >> 8) & 0xff); nonce[10] = UInt8(index & 0xff)
        nonce[11] = last ? 1 : 0
    }

    /// Seals `input` (≤ segment size) into `output` as ciphertext ‖ tag
    /// (‖ second tag with the infrastructure layer: `input.count + overhead` bytes).
    func seal(index: UInt32, last: Bool, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let outer = try contentCipher()
        setNonce(index: index, last: last)
        try nonce.withUnsafeBytes { n in
            try headerHash.withUnsafeBytes { aad in
                var body = input
                if let inner {
                    // Inner layer into place, then the outer layer over ciphertext ‖ inner tag, in place.
                    try inner.seal(input, into: output, nonce: n, aad: aad,
                                   tag: UnsafeMutableRawBufferPointer(rebasing: output[input.count..<(input.count + Self.tagSize)]))
                    body = UnsafeRawBufferPointer(rebasing: output[0..<(input.count + Self.tagSize)])
                }
                try outer.seal(body, into: output, nonce: n, aad: aad,
                               tag: UnsafeMutableRawBufferPointer(rebasing: output[body.count..<(body.count + Self.tagSize)]))
            }
        }
    }

    /// Opens ciphertext ‖ tag into `output`; any mismatch is an integrity failure.
    func open(index: UInt32, last: Bool, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard input.count >= overhead else { throw StorageError.integrity("segment \(index) shorter than its tag") }
        let outer = try contentCipher()
        setNonce(index: index, last: last)
        do {
            try nonce.withUnsafeBytes { n in
                try headerHash.withUnsafeBytes { aad in
                    try openLayers(outer, input, into: output, nonce: n, aad: aad)
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

    /// Opens ciphertext ‖ tag(s): the outer layer (`gcm`), then the inner one when present.
    private func openLayers(_ gcm: AESGCMContext, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                            nonce n: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer) throws {
        let outerCount = input.count - Self.tagSize
        let outerBody = UnsafeRawBufferPointer(rebasing: input[..<outerCount])
        let outerTag = UnsafeRawBufferPointer(rebasing: input[outerCount...])
        guard let inner else {
            try gcm.open(outerBody, into: output, nonce: n, aad: aad, tag: outerTag)
            return
        }
        let middle = UnsafeMutableRawBufferPointer(rebasing: scratch(outerCount)[0..<outerCount])
        try gcm.open(outerBody, into: middle, nonce: n, aad: aad, tag: outerTag)
        let innerCount = outerCount - Self.tagSize
        try inner.open(UnsafeRawBufferPointer(rebasing: middle[..<innerCount]), into: output, nonce: n, aad: aad,
                       tag: UnsafeRawBufferPointer(rebasing: middle[innerCount...]))
    }

    /// The metadata block: random nonce (12) ‖ u32 length ‖ ciphertext ‖ tag,
    /// with AAD "atrest/v1/meta" ‖ fixed header.
    func sealMetadata(_ metadata: ObjectMetadata) throws -> [UInt8] {
        let plain = try metadata.encode()
        let metaNonce = try SecureRandom.bytes(AESGCM.nonceSize)
        var w = ByteWriter(capacity: plain.count + 16 + overhead)
        w.raw(metaNonce)
        w.u32(UInt32(plain.count))
        var sealed = [UInt8](repeating: 0, count: plain.count + overhead)
        let aad = Self.metadataLabel + fixedHeader
        try plain.withUnsafeBytes { p in
            try sealed.withUnsafeMutableBytes { s in
                try metaNonce.withUnsafeBytes { n in
                    try aad.withUnsafeBytes { a in
                        var body = p
                        if let inner {
                            try inner.seal(p, into: s, nonce: n, aad: a,
                                           tag: UnsafeMutableRawBufferPointer(rebasing: s[p.count..<(p.count + Self.tagSize)]))
                            body = UnsafeRawBufferPointer(rebasing: s[0..<(p.count + Self.tagSize)])
                        }
                        try gcm.seal(body, into: s, nonce: n, aad: a, tag: UnsafeMutableRawBufferPointer(rebasing: s[body.count...]))
                    }
                }
            }
        }
        w.raw(sealed)
        return w.bytes
    }

    /// Opens a metadata block (everything after the u32 length prefix is `sealed`).
    func openMetadata(nonce metaNonce: [UInt8], sealed: [UInt8]) throws -> ObjectMetadata {
        guard sealed.count >= overhead else { throw StorageError.integrity("metadata block too short") }
        let count = sealed.count - overhead
        var plain = [UInt8](repeating: 0, count: count)
        let aad = Self.metadataLabel + fixedHeader
        do {
            try sealed.withUnsafeBytes { s in
                try plain.withUnsafeMutableBytes { p in
                    try metaNonce.withUnsafeBytes { n in
                        try aad.withUnsafeBytes { a in
                            try openLayers(gcm, s, into: p, nonce: n, aad: a)
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
/// tag (`overhead` 32 with the infrastructure layer: ‖ a second tag); an
/// object has at least one segment (an empty object is one empty segment).
enum SegmentLayout {
    static func segmentCount(length: UInt64, segmentSize: Int) -> UInt64 {
        length == 0 ? 1 : (length + UInt64(segmentSize) - 1) / UInt64(segmentSize)
    }

    static func sealedSize(length: UInt64, segmentSize: Int, overhead: Int = SegmentCipher.tagSize) -> UInt64 {
        length + segmentCount(length: length, segmentSize: segmentSize) * UInt64(overhead)
    }

    /// The plaintext length a data region of `sealedSize` bytes must hold, or nil if no length fits.
    static func plaintextLength(sealedSize: UInt64, segmentSize: Int, overhead: Int = SegmentCipher.tagSize) -> UInt64? {
        let tags = UInt64(overhead)
        let stride = UInt64(segmentSize) + tags
        let full = sealedSize / stride, rest = sealedSize % stride
        if rest == 0 { return full == 0 ? nil : full * UInt64(segmentSize) }
        guard rest >= tags else { return nil }
        // A short final segment after full ones, or the single empty segment.
        if rest == tags && full > 0 { return nil }
        return full * UInt64(segmentSize) + rest - tags
    }
}
