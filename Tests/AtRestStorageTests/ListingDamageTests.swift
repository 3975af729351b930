import Testing
import Glibc
@testable import AtRestStorage

/// One object that fails authentication must not hide the others: the
/// listing returns every good entry and names the bad ones by storage id.
@Suite struct ListingDamageTests {
    let key: AccountKey
    init() throws { key = try Fixtures.accountKey() }

    /// Overwrites `file` with `bytes` in place.
    private func write(_ bytes: [UInt8], to file: String) {
        let f = fopen(file, "wb")!
        defer { fclose(f) }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    }

    @Test func damagedObjectsAreReportedNotFatal() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: "acct", name: "c", accountKey: key)
        for name in ["a", "b", "c", "d"] {
            try await store.put(account: "acct", container: "c", name: name, data: Array(repeating: 7, count: 5000), accountKey: key)
        }
        let flipped = try store.objectHash("c", "b", key)
        let truncated = try store.objectHash("c", "d", key)
        let files = dir.allFiles()
        let flippedFile = try #require(files.first { $0.hasSuffix("/o-\(flipped)") })
        var bytes = dir.contents(flippedFile)
        bytes[40] ^= 0x01  // inside the sealed header
        write(bytes, to: flippedFile)
        let truncatedFile = try #require(files.first { $0.hasSuffix("/o-\(truncated)") })
        write(Array(dir.contents(truncatedFile).prefix(5)), to: truncatedFile)

        let listing = try await store.list(account: "acct", container: "c", accountKey: key)
        #expect(listing.objects.map(\.name) == ["a", "c"])
        #expect(listing.damaged == [flipped, truncated].sorted())

        // Paged: the first page reports them, later pages do not repeat them.
        let page1 = try await store.list(account: "acct", container: "c", maxResults: 1, accountKey: key)
        #expect(page1.objects.map(\.name) == ["a"])
        #expect(page1.damaged.count == 2)
        let page2 = try await store.list(account: "acct", container: "c", pageToken: page1.nextPageToken, maxResults: 1, accountKey: key)
        #expect(page2.objects.map(\.name) == ["c"])
        #expect(page2.damaged.isEmpty)

        // Reading the damaged object itself still fails loudly.
        await #expect(throws: StorageError.self) { try await store.get(account: "acct", container: "c", name: "b", accountKey: key) }
    }
}
