import Testing
import AtRestCrypto
@testable import AtRestStorage

/// Infrastructure (double) encryption in format v1 (header flag bit 2): every
/// segment and the metadata block are sealed twice under independent keys,
/// and each layer alone authenticates (docs/FORMAT.md "Infrastructure layer").
@Suite struct InfrastructureLayerTests {
    let outer: AccountKey
    let key: AccountKey
    let segmentSize = 1024

    init() throws {
        outer = try Fixtures.accountKey()
        key = outer.withInfrastructure(try InfrastructureKey(key: SecretBytes(randomCount: 32), accountKeyVersion: 2))
    }

    private func open(_ sealed: [UInt8], key: AccountKey? = nil) throws -> [UInt8] {
        try ObjectReader(source: BufferSource(sealed), accountKey: key ?? self.key, context: Fixtures.identity.context).readAll()
    }

    private func expectCode(_ code: StorageError.Code, _ what: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(what): succeeded")
        } catch let error as StorageError {
            #expect(error.code == code, "\(what): \(error)")
        } catch {
            Issue.record("\(what): unexpected \(error)")
        }
    }

    @Test(arguments: [0, 1, 1023, 1024, 1025, 5000])
    func roundTripsWithTwoTagsPerSegment(size: Int) throws {
        let data = Fixtures.data(size)
        let double = try Fixtures.sealStreaming(data, key: key, segmentSize: segmentSize)
        let single = try Fixtures.sealStreaming(data, key: outer, segmentSize: segmentSize)
        #expect(try open(double) == data)
        let header = try ObjectHeader.decode(Array(double[0..<Int(try ObjectHeader.fixedLength(fromPreamble: double))]))
        #expect(header.flags.contains(.infrastructure))
        #expect(header.infrastructure == ObjectHeader.InfrastructureLayer(accountKeyVersion: 2, checkValue: key.infrastructure!.checkValue))
        // Header fields (20 bytes), a second metadata tag and a second tag per segment.
        let segments = Int(SegmentLayout.segmentCount(length: UInt64(size), segmentSize: segmentSize))
        #expect(double.count == single.count + ObjectHeader.InfrastructureLayer.size + 16 + 16 * segments)
        // The in-memory path writes the same layout.
        let whole = try ObjectFormat.seal(data, metadata: ObjectMetadata(name: "x"), accountKey: key, context: Fixtures.identity.context)
        #expect(whole.count == (try ObjectFormat.sealedSize(dataLength: size, metadata: ObjectMetadata(name: "x"), accountKey: key)))
        #expect(try ObjectFormat.open(whole, accountKey: key, context: Fixtures.identity.context).data == data)
    }

    @Test func rangeReadsCrossSegmentsOfTheLongerStride() throws {
        let data = Fixtures.data(5000)
        let sealed = try Fixtures.sealStreaming(data, key: key, segmentSize: segmentSize)
        let reader = try ObjectReader(source: BufferSource(sealed), accountKey: key, context: Fixtures.identity.context)
        for range in [0..<1, 1000..<1100, 1023..<1025, 2048..<5000, 4999..<5000, 0..<5000] {
            var got: [UInt8] = []
            try reader.read(range: UInt64(range.lowerBound)..<UInt64(range.upperBound)) { got.append(contentsOf: $0) }
            #expect(got == Array(data[range]), "range \(range)")
        }
    }

    @Test func eitherKeyMissingOrWrongIsWrongKey() throws {
        let sealed = try Fixtures.sealStreaming(Fixtures.data(3000), key: key, segmentSize: segmentSize)
        expectCode(.wrongKey, "without the infrastructure key") { _ = try open(sealed, key: outer) }
        let otherSameVersion = outer.withInfrastructure(try InfrastructureKey(key: SecretBytes(randomCount: 32), accountKeyVersion: 2))
        expectCode(.wrongKey, "another infrastructure key") { _ = try open(sealed, key: otherSameVersion) }
        let otherVersion = outer.withInfrastructure(try InfrastructureKey(key: key.infrastructure!.key, accountKeyVersion: 3))
        expectCode(.wrongKey, "another infrastructure key version") { _ = try open(sealed, key: otherVersion) }
        let otherOuter = try Fixtures.accountKey().withInfrastructure(key.infrastructure)
        expectCode(.wrongKey, "another account key") { _ = try open(sealed, key: otherOuter) }
        // An object of an account without the layer still opens with a key that has one.
        let plain = Fixtures.data(3000)
        #expect(try open(try Fixtures.sealStreaming(plain, key: outer, segmentSize: segmentSize)) == plain)
    }

    @Test func everyByteIsProtected() throws {
        let sealed = try Fixtures.sealStreaming(Fixtures.data(2100), key: key, segmentSize: segmentSize)
        for i in 0..<sealed.count {
            var bad = sealed; bad[i] ^= 0x10
            do {
                _ = try open(bad)
                Issue.record("flip at \(i) went unnoticed")
            } catch let error as StorageError {
                #expect([.integrityFailure, .wrongKey, .unsupportedFormat].contains(error.code), "byte \(i): \(error)")
            }
        }
    }

    /// Strips the outer layer of segment 0 with the (test-known) object key,
    /// changes the inner layer, and seals the outer layer again: the outer tag
    /// is valid, so only the inner layer can catch it — and it does. The
    /// outer layer's plaintext is not the content (the inner layer hides it).
    @Test func innerLayerAuthenticatesOnItsOwn() throws {
        let data = Fixtures.data(2000)
        let sealed = try Fixtures.sealStreaming(data, key: key, segmentSize: segmentSize)
        let reader = try ObjectReader(source: BufferSource(sealed), accountKey: key, context: Fixtures.identity.context)
        let start = Int(reader.dataOffset), count = segmentSize + 32
        let objectKey = try key.objectKey(salt: reader.header.salt, context: Fixtures.identity.context)
        let nonce = reader.header.noncePrefix + [0, 0, 0, 0, 0]
        let aad = try SHA256.hash(reader.cipher.fixedHeader)
        let segment = Array(sealed[start..<(start + count)])
        var middle = try AESGCM.open(segment, using: objectKey, nonce: nonce, authenticating: aad)
        #expect(middle.count == segmentSize + 16)
        #expect(Array(middle[0..<segmentSize]) != Array(data[0..<segmentSize]), "the outer layer's plaintext is the inner ciphertext")
        for at in [0, 500, segmentSize + 3] {  // inner body and inner tag
            middle[at] ^= 0x01
            var bad = sealed
            bad.replaceSubrange(start..<(start + count), with: try AESGCM.seal(middle, using: objectKey, nonce: nonce, authenticating: aad))
            expectCode(.integrityFailure, "inner byte \(at)") { _ = try open(bad) }
            middle[at] ^= 0x01
        }
        // Unchanged inner layer under a re-sealed outer one still reads: the test's outer seal is the real one.
        var same = sealed
        same.replaceSubrange(start..<(start + count), with: try AESGCM.seal(middle, using: objectKey, nonce: nonce, authenticating: aad))
        #expect(try open(same) == data)
    }

    /// Records of queues, tables, disks and file shares: format 2 carries the
    /// same second layer; each layer's key is needed and each authenticates.
    @Test func sealedRecordsAreSealedTwice() throws {
        let map = try RecordMapName(try BackendContainer("a-infra"), "q-one")
        let context = SealedRecord.context(["message", "acct", "q"])
        let plain = Fixtures.data(300)
        let sealed = try SealedRecord.seal(plain, context: context, map: map, key: "m-1", accountKey: key)
        let single = try SealedRecord.seal(plain, context: context, map: map, key: "m-1", accountKey: outer)
        #expect(sealed[0] == 2 && single[0] == 1)
        #expect(sealed.count == single.count + ObjectHeader.InfrastructureLayer.size + 16)
        #expect(sealed.count == plain.count + SealedRecord.maxOverhead && single.count == plain.count + SealedRecord.overhead)
        #expect(try SealedRecord.open(sealed, context: context, map: map, key: "m-1", accountKey: key) == plain)
        #expect(try SealedRecord.open(single, context: context, map: map, key: "m-1", accountKey: key) == plain)
        expectCode(.wrongKey, "record without the infrastructure key") {
            _ = try SealedRecord.open(sealed, context: context, map: map, key: "m-1", accountKey: outer)
        }
        let other = outer.withInfrastructure(try InfrastructureKey(key: SecretBytes(randomCount: 32), accountKeyVersion: 2))
        expectCode(.wrongKey, "record under another infrastructure key") {
            _ = try SealedRecord.open(sealed, context: context, map: map, key: "m-1", accountKey: other)
        }
        for i in 0..<sealed.count {
            var bad = sealed; bad[i] ^= 0x04
            do {
                _ = try SealedRecord.open(bad, context: context, map: map, key: "m-1", accountKey: key)
                Issue.record("record flip at \(i) went unnoticed")
            } catch let error as StorageError {
                #expect([.integrityFailure, .wrongKey, .unsupportedFormat].contains(error.code), "record byte \(i): \(error)")
            }
        }
        // The inner layer alone: strip the outer layer with the (test-known) key, change the inner one, re-seal.
        let header = 1 + 4 + 16 + 16 + ObjectHeader.InfrastructureLayer.size
        let salt = Array(sealed[21..<37])
        let outerKey = try key.objectKey(salt: salt, context: context)
        let nonce = [UInt8](repeating: 0, count: 12)
        var aad: [UInt8] = Array("atrest/v1/record".utf8)
        for part in [map.container.id, map.map, "m-1"] { let u = Array(part.utf8); aad += [0, 0, UInt8(u.count >> 8), UInt8(u.count & 0xff)] + u }
        var middle = try AESGCM.open(Array(sealed[header...]), using: outerKey, nonce: nonce, authenticating: aad)
        #expect(middle.count == plain.count + 16 && Array(middle[0..<plain.count]) != plain)
        middle[7] ^= 0x01
        let forged = Array(sealed[..<header]) + (try AESGCM.seal(middle, using: outerKey, nonce: nonce, authenticating: aad))
        expectCode(.integrityFailure, "changed inner layer under a valid outer one") {
            _ = try SealedRecord.open(forged, context: context, map: map, key: "m-1", accountKey: key)
        }
    }

    /// A record's first plaintext bytes without its tags (what the table engine reads an entity's keys from):
    /// through one layer or two, never past the plaintext into a tag; changed bytes give changed plaintext,
    /// with no error (the caller checks), and a record of another key is still `.wrongKey`.
    @Test func aRecordsPrefixDecryptsWithoutItsTags() throws {
        let map = try RecordMapName(try BackendContainer("a-infra"), "t-one")
        let context = SealedRecord.context(["entity", "acct", "t"])
        let plain = Fixtures.data(300)
        for sealed in [try SealedRecord.seal(plain, context: context, map: map, key: "e-1", accountKey: key),
                       try SealedRecord.seal(plain, context: context, map: map, key: "e-1", accountKey: outer)] {
            for count in [0, 1, 64, 299, 300, 301, 5000] {
                #expect(try SealedRecord.unauthenticatedPrefix(sealed[...], count: count, context: context, accountKey: key)
                        == Array(plain.prefix(count)), "format \(sealed[0]), \(count) bytes")
            }
            var changed = sealed
            changed[sealed.count - plain.count - (sealed[0] == 2 ? 32 : 16) + 5] ^= 0x20  // plaintext byte 5
            var expected = Array(plain.prefix(10)); expected[5] ^= 0x20
            #expect(try SealedRecord.unauthenticatedPrefix(changed[...], count: 10, context: context, accountKey: key) == expected)
            expectCode(.integrityFailure, "the changed record opened in full") {
                _ = try SealedRecord.open(changed, context: context, map: map, key: "e-1", accountKey: key)
            }
        }
        let doubled = try SealedRecord.seal(plain, context: context, map: map, key: "e-1", accountKey: key)
        expectCode(.wrongKey, "a prefix without the infrastructure key") {
            _ = try SealedRecord.unauthenticatedPrefix(doubled[...], count: 8, context: context, accountKey: outer)
        }
        #expect(try SealedRecord.unauthenticatedPrefix(doubled[...], count: 8, context: SealedRecord.context(["other"]), accountKey: key)
                != Array(plain.prefix(8)))
        // Cut short: an error, never a read past the bytes there are.
        for cut in [0, 20, 40, 56, 57 + 15] {
            #expect(throws: StorageError.self, "cut at \(cut)") {
                try SealedRecord.unauthenticatedPrefix(Array(doubled.prefix(cut))[...], count: 8, context: context, accountKey: key)
            }
        }
    }
}
