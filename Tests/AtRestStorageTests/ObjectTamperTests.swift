import Testing
import AtRestCrypto
@testable import AtRestStorage

/// Every structural attack on a sealed object must fail with an integrity
/// (or key) error and never yield plaintext.
@Suite struct ObjectTamperTests {
    let key: AccountKey
    let data = Fixtures.data(4 * 1024 + 300)  // 5 segments of 1 KiB
    let sealed: [UInt8]
    let headerSize: Int
    let stride = 1024 + 16

    init() throws {
        key = try Fixtures.accountKey()
        sealed = try Fixtures.sealStreaming(data, key: key)
        headerSize = try Fixtures.headerSize(sealed, key: key)
    }

    private func expectFailure(_ bytes: [UInt8], code: StorageError.Code = .integrityFailure, key: AccountKey? = nil,
                               identity: ObjectIdentity = Fixtures.identity, _ what: String) {
        do {
            let reader = try ObjectReader(source: BufferSource(bytes), accountKey: key ?? self.key, context: identity.context)
            _ = try reader.readAll()
            Issue.record("\(what): read succeeded")
        } catch let error as StorageError {
            #expect(error.code == code, "\(what): \(error)")
        } catch {
            Issue.record("\(what): unexpected \(error)")
        }
    }

    private func segment(_ i: Int) -> ArraySlice<UInt8> {
        let lo = headerSize + i * stride
        return sealed[lo..<min(lo + stride, sealed.count)]
    }

    private func assemble(_ order: [Int]) -> [UInt8] { Array(sealed[0..<headerSize]) + order.flatMap { Array(segment($0)) } }

    @Test func untouchedObjectReads() async throws {
        #expect(try ObjectFormat.open(assemble([0, 1, 2, 3, 4]), accountKey: key, context: Fixtures.identity.context).data == data)
    }

    @Test func everyHeaderByteIsProtected() {
        for i in 0..<headerSize {
            var bad = sealed; bad[i] ^= 0x01
            do {
                _ = try ObjectFormat.open(bad, accountKey: key, context: Fixtures.identity.context)
                Issue.record("header byte \(i) flip went unnoticed")
            } catch let error as StorageError {
                #expect([.integrityFailure, .wrongKey, .unsupportedFormat].contains(error.code), "byte \(i): \(error)")
            } catch { Issue.record("byte \(i): \(error)") }
        }
    }

    @Test func flippedBitsInSegmentsAndTags() {
        for i in Swift.stride(from: headerSize, to: sealed.count, by: 97) + [sealed.count - 1, headerSize + stride - 1] {
            var bad = sealed; bad[i] ^= 0x80
            expectFailure(bad, "flip at \(i)")
        }
    }

    @Test func reorderDropDuplicateTruncate() {
        expectFailure(assemble([1, 0, 2, 3, 4]), "swap 0,1")
        expectFailure(assemble([0, 2, 1, 3, 4]), "swap 1,2 (same size)")
        expectFailure(assemble([0, 1, 3, 4]), "drop middle")
        expectFailure(assemble([1, 2, 3, 4]), "drop first")
        expectFailure(assemble([0, 1, 1, 2, 3, 4]), "duplicate")
        expectFailure(assemble([0, 1, 2, 3]), "drop last (truncate at boundary)")
        expectFailure(Array(sealed.dropLast(1)), "truncate by one byte")
        expectFailure(Array(sealed.dropLast(200)), "truncate mid-segment")
        expectFailure(Array(sealed[0..<headerSize]), "header only")
        expectFailure(sealed + [0], "one byte appended")
        expectFailure(sealed + Array(segment(4)), "last segment repeated")
    }

    @Test func splicingBetweenObjectsIsDetected() async throws {
        let other = try Fixtures.sealStreaming(data, key: key)  // same key, same identity, same plaintext
        let otherHeader = try Fixtures.headerSize(other, key: key)
        expectFailure(Array(other[0..<otherHeader]) + Array(sealed[headerSize...]), "other header on these segments")
        var mixed = sealed
        mixed.replaceSubrange((headerSize + stride)..<(headerSize + 2 * stride), with: other[(otherHeader + stride)..<(otherHeader + 2 * stride)])
        expectFailure(mixed, "segment 1 from another object")
        // Only the metadata block from another object.
        let fixed = try ObjectHeader.fixedLength(fromPreamble: sealed)
        expectFailure(Array(sealed[0..<fixed]) + Array(other[fixed..<otherHeader]) + Array(sealed[headerSize...]), "metadata from another object")
    }

    @Test func wrongIdentityKeyOrReference() async throws {
        expectFailure(sealed, identity: ObjectIdentity(account: "acct", container: "other"), "other container")
        expectFailure(sealed, identity: ObjectIdentity(account: "acct", container: "photos", kind: .block), "other kind")
        expectFailure(sealed, code: .wrongKey, key: try Fixtures.accountKey(), "another key, same reference")
        var ref = Fixtures.reference; ref.accountKeyVersion = 9
        expectFailure(sealed, code: .wrongKey, key: try AccountKey(key: key.key, reference: ref), "another reference")
        expectFailure([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], code: .unsupportedFormat, "not an object")
    }
}
