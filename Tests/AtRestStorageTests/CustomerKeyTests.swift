import Testing
import AtRestCrypto
import Foundation
import Glibc
@testable import AtRestStorage

/// Customer-provided keys in the store and the format (docs/FORMAT.md
/// "Customer-provided keys"): the content opens only with the same key, the
/// header holds a keyed hash of it and never the key, listing needs none.
@Suite struct CustomerKeyTests {
    let key: AccountKey
    let customer: SecretBytes
    let customerBytes: [UInt8]
    init() throws {
        key = try Fixtures.accountKey()
        customerBytes = try SecureRandom.bytes(32)
        customer = SecretBytes(customerBytes)
    }

    private func expectStorageError(_ code: StorageError.Code, _ text: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code)")
        } catch let error as StorageError {
            #expect(error.code == code && error.message.contains(text), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func contentOpensOnlyWithTheSameKey() async throws {
        try await Fixtures.withStore(key) { store, containerPath in
            let withKey = try key.withCustomerKey(customer)
            let data = Fixtures.data(200_000)
            try await store.put(account: "acct", container: "c", name: "secret.bin", data: data, userMetadata: ["m": "v"],
                                accountKey: withKey)
            let got = try await store.get(account: "acct", container: "c", name: "secret.bin", accountKey: withKey)
            #expect(got.data == data && got.metadata.userMetadata == ["m": "v"])
            let ranged = try await store.get(account: "acct", container: "c", name: "secret.bin", range: 65_000..<140_001,
                                             accountKey: withKey)
            #expect(ranged.data == Array(data[65_000..<140_001]))

            // Without the key: data, properties and metadata changes are refused with the issue's message.
            let missing = "this blob is encrypted with a customer-provided key; send the key"
            await expectStorageError(.customerKeyRequired, missing) {
                _ = try await store.get(account: "acct", container: "c", name: "secret.bin", accountKey: key)
            }
            await expectStorageError(.customerKeyRequired, missing) {
                _ = try await store.metadata(account: "acct", container: "c", name: "secret.bin", accountKey: key)
            }
            await expectStorageError(.customerKeyRequired, missing) {
                _ = try await store.setMetadata(account: "acct", container: "c", name: "secret.bin", userMetadata: [:], accountKey: key)
            }
            // Another key: refused as a mismatch, not as tampering.
            let other = try key.withCustomerKey(SecretBytes(randomCount: 32))
            await expectStorageError(.customerKeyMismatch, "does not match this blob") {
                _ = try await store.get(account: "acct", container: "c", name: "secret.bin", accountKey: other)
            }
            // A key sent for a blob written without one.
            try await store.put(account: "acct", container: "c", name: "plain.bin", data: [1, 2, 3], accountKey: key)
            await expectStorageError(.invalidArgument, "not written with one") {
                _ = try await store.get(account: "acct", container: "c", name: "plain.bin", accountKey: withKey)
            }
            // Listing needs no key and shows both.
            let listing = try await store.list(account: "acct", container: "c", accountKey: key)
            #expect(listing.objects.map(\.name) == ["plain.bin", "secret.bin"] && listing.damaged.isEmpty)
            #expect(listing.objects.last?.length == 200_000)

            // Metadata can be changed with the key; the content stays readable under it.
            try await store.setMetadata(account: "acct", container: "c", name: "secret.bin", userMetadata: ["n": "w"], accountKey: withKey)
            let after = try await store.get(account: "acct", container: "c", name: "secret.bin", accountKey: withKey)
            #expect(after.data == data && after.metadata.userMetadata == ["n": "w"])

            // The stored file: flag bit 1, the keyed hash after the nonce prefix, never the key.
            let path = try Fixtures.objectPath(store, "acct", "c", "secret.bin", key)
            let bytes = try readFile(path)
            #expect(bytes[7] & 0x02 == 0x02)
            let header = try ObjectHeader.decode(Array(bytes[0..<Int(UInt16(bytes[8]) << 8 | UInt16(bytes[9]))]))
            #expect(header.customerKeyCheck == (try CustomerKeyCheck.value(of: customer, accountKey: key)))
            let files = try FileManager.default.subpathsOfDirectory(atPath: containerPath)
            #expect(files.count >= 3, "\(files)")  // the marker and both objects
            for file in files {
                let contents = try readFile(containerPath + "/" + file)
                #expect(!contains(contents, customerBytes), "the customer key's bytes are in \(file)")
            }
        }
    }

    @Test func neitherKeyAloneOpensTheContent() throws {
        // The content key depends on both: the same customer key under another account key gives another content key.
        let objectKey = try key.objectKey(salt: [UInt8](repeating: 1, count: 32), context: Fixtures.identity.context)
        let otherObjectKey = try Fixtures.accountKey().objectKey(salt: [UInt8](repeating: 1, count: 32), context: Fixtures.identity.context)
        let a = try CustomerKeyCheck.contentKey(customerKey: customer, objectKey: objectKey, context: Fixtures.identity.context)
        let b = try CustomerKeyCheck.contentKey(customerKey: customer, objectKey: otherObjectKey, context: Fixtures.identity.context)
        let c = try CustomerKeyCheck.contentKey(customerKey: SecretBytes(randomCount: 32), objectKey: objectKey, context: Fixtures.identity.context)
        #expect(a != b && a != c && a != objectKey)
        // Sealed in memory: the reader without the key opens the metadata, not a segment.
        let sealed = try ObjectFormat.seal(Fixtures.data(5000), metadata: ObjectMetadata(name: "x"), accountKey: key.withCustomerKey(customer),
                                           context: Fixtures.identity.context)
        let reader = try ObjectReader(source: BufferSource(sealed), accountKey: key, context: Fixtures.identity.context)
        #expect(reader.metadata.name == "x" && reader.customerKeyMatch == .missing)
        #expect(throws: StorageError.self) { _ = try reader.readAll() }
        #expect(throws: (any Error).self) { _ = try AccountKey.withCustomerKey(key)(SecretBytes(randomCount: 16)) }
    }

    private func readFile(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw StorageError(.io, "open \(path)") }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n == 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }
}
