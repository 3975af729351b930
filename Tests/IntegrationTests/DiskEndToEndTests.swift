import AtRestClient
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Disks end to end through `DiskClient` and the real processes (front
/// door, two workers, vault, identity), on the local backend and on a
/// throwaway Ceph cluster: pages across region boundaries, sub-chunk
/// writes, racing writers of the same pages, clears, page ranges, a
/// customer key disabled and enabled again, no plaintext in the storage.
@Suite(.serialized) struct DiskEndToEndTests {
    @Test(arguments: StorageUnderTest.allCases)
    func disksEndToEnd(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.blobClusterOptions) { on in try await endToEnd(on) }
    }

    func endToEnd(_ on: ClusterOnStorage) async throws {
        let cluster = on.cluster
        try await cluster.waitForWorkers(count: 2)
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-d"), as: AccountInfo.self, metadata: alice)
        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        let disks = DiskClient(ServiceClient(rpc: c, token: token), account: "acct-d")

        // A 3 GiB disk (three regions) costs nothing until written.
        let name = "vm-pangolin-2207", gib: UInt64 = 1 << 30
        let created = try await disks.create(name, size: 3 * gib, metadata: ["team": "red"])
        #expect(created.size == 3 * gib && created.metadata == ["team": "red"] && created.createdAtMs > 0)
        #expect(try await disks.pageRanges(name).isEmpty)
        #expect(try await disks.getPages(name, offset: 2 * gib - 100, length: 4096) == [UInt8](repeating: 0, count: 4096))
        await expectCode(.alreadyExists) { try await disks.create(name, size: 512) }
        await expectCode(.notFound, contains: "does not exist") { _ = try await disks.getPages("no-such-disk", offset: 0, length: 1) }

        // Across the first region boundary, not chunk-aligned (read-modify-write at both ends).
        let marker = Array("disk-page-marker-ibex-6610 ".utf8)
        var pattern = [UInt8](repeating: 0, count: 3 << 20)
        for index in pattern.indices { pattern[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 9) }
        pattern.replaceSubrange(0..<marker.count, with: marker)
        let across = gib - (1 << 20) - 512
        try await disks.putPages(name, offset: across, data: pattern)
        #expect(try await disks.getPages(name, offset: across, length: pattern.count) == pattern)
        #expect(try await disks.getPages(name, offset: across - 512, length: 512) == [UInt8](repeating: 0, count: 512), "the page before is untouched")
        let end = across + UInt64(pattern.count)
        #expect(try await disks.getPages(name, offset: end, length: 512) == [UInt8](repeating: 0, count: 512), "the page after is untouched")
        #expect(try await disks.pageRanges(name) == [DiskPageRange(offset: across / 4096 * 4096, length: (end + 4095) / 4096 * 4096 - across / 4096 * 4096)])

        // Clear a middle part (whole chunks released, partial ones zeroed), and a whole-region write at the end.
        try await disks.clearPages(name, offset: gib - 512, length: 8192)
        var expected = pattern
        let cleared = Int(gib - 512 - across)
        expected.replaceSubrange(cleared..<cleared + 8192, with: repeatElement(0, count: 8192))
        #expect(try await disks.getPages(name, offset: across, length: pattern.count) == expected)
        let tail = [UInt8](repeating: 0xA5, count: 4 << 20)
        try await disks.putPages(name, offset: 3 * gib - UInt64(tail.count), data: tail)
        let ranges = try await disks.pageRanges(name)
        #expect(ranges.count == 3 && ranges.last == DiskPageRange(offset: 3 * gib - UInt64(tail.count), length: UInt64(tail.count)), "\(ranges)")
        #expect(try await disks.pageRanges(name, offset: 3 * gib - 4096, length: 1024) == [DiskPageRange(offset: 3 * gib - 4096, length: 1024)])

        // Racing writers of the same pages (sub-chunk, so conditional
        // read-modify-writes, over both workers): every page ends whole,
        // from one writer, and nothing fails authentication.
        let raceAt: UInt64 = 5 * 4096 + 1024, raceLength = 6 * 4096
        for round in 0..<4 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 1...6 {
                    group.addTask {
                        let fill = UInt8(round * 16 + writer)
                        try await disks.putPages(name, offset: raceAt, data: [UInt8](repeating: fill, count: raceLength))
                    }
                }
                try await group.waitForAll()
            }
            let read = try await disks.getPages(name, offset: raceAt, length: raceLength)
            for page in stride(from: 0, to: raceLength, by: 512) {
                let bytes = read[page..<page + 512]
                #expect(Set(bytes).count == 1 && (1...6).contains(Int(bytes.first!) - round * 16), "round \(round): page \(page / 512) is mixed")
            }
        }

        // Several writes in one call (PutPageRanges, what atrest-nbd sends for writes in flight together):
        // across the region boundary, sub-chunk, two in one chunk; the same bytes as one by one.
        let writes: [(offset: UInt64, data: [UInt8])] = [
            (gib - 4096, [UInt8](repeating: 0x31, count: 8192)), (40 * 4096, [UInt8](repeating: 0x32, count: 512)),
            (40 * 4096 + 1024, [UInt8](repeating: 0x33, count: 1536)), (2 * gib + 512, [UInt8](repeating: 0x34, count: 4096)),
        ]
        try await disks.putPageRanges(name, writes)
        for write in writes { #expect(try await disks.getPages(name, offset: write.offset, length: write.data.count) == write.data) }
        #expect(try await disks.getPages(name, offset: 40 * 4096 + 512, length: 512) == [UInt8](repeating: 0, count: 512), "between two ranges of one chunk")
        await expectCode(.invalidArgument, contains: "overlap") { try await disks.putPageRanges(name, [(0, [UInt8](repeating: 1, count: 1024)), (512, [UInt8](repeating: 2, count: 512))]) }
        // A request whose ranges do not add up to its payload is refused whole.
        let wrong = PutPageRangesRequest(disk: name, ranges: [DiskPageRange(offset: 0, length: 512), DiskPageRange(offset: 4096, length: 1024)])
        await expectCode(.invalidArgument, contains: "add up to the payload") {
            _ = try await c.call(DiskMethod.putPageRanges.name, request: wrong, as: EmptyMessage.self, parts: [PayloadPart([UInt8](repeating: 9, count: 1024))],
                                 metadata: ["account": "acct-d", "authorization": "Bearer \(token)"])
        }
        #expect(try await disks.getPages(name, offset: 0, length: 512) == [UInt8](repeating: 0, count: 512))

        // Resize: shrinking drops the tail region's pages; growing reads zeros there.
        #expect(try await disks.resize(name, size: 2 * gib).size == 2 * gib)
        await expectCode(.invalidArgument, contains: "beyond") { _ = try await disks.getPages(name, offset: 2 * gib, length: 512) }
        #expect(try await disks.resize(name, size: 3 * gib).size == 3 * gib)
        #expect(try await disks.getPages(name, offset: 3 * gib - 4096, length: 4096) == [UInt8](repeating: 0, count: 4096))
        #expect(try await disks.properties(name).metadata == ["team": "red"])
        let listed = try await disks.listAll()
        #expect(listed.map(\.disk) == [name] && listed.first?.size == 3 * gib)

        // Nothing of the name, metadata or pages in clear in the storage.
        #expect(try await disks.setMetadata(name, ["owner": "disk-meta-tapir-3390"]).metadata == ["owner": "disk-meta-tapir-3390"])
        let stored = try await on.storedObjects()
        #expect(!stored.isEmpty)
        for text in [String(decoding: marker, as: UTF8.self), name, "disk-meta-tapir-3390"] {
            for object in stored {
                #expect(!object.name.contains(text), "\(object.name) shows \(text)")
                #expect(!contains(object.bytes, Array(text.utf8)), "\(object.name) contains \(text)")
            }
        }

        // A customer key: disabled, page reads and writes fail with a clear key error; enabled, they work again.
        let mi = try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "acct-d"), as: AccountInfo.self, metadata: alice).message.managedIdentity
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "cmkd")), as: KeyResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "cmkd"), principalID: mi, operations: [.wrap, .unwrap])),
                             as: AccessResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-d", keySource: "customer", keyID: "cmkd"),
                             as: AccountEncryption.self, metadata: alice)
        try await disks.putPages(name, offset: 0, data: marker + [UInt8](repeating: 7, count: 512 - marker.count))
        _ = try await c.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmkd")), as: KeyResponse.self, metadata: alice)
        try await eventually {
            do {
                _ = try await disks.getPages(name, offset: 0, length: 512)
                throw RPCStatus(.unavailable, "still readable")
            } catch let status as RPCStatus where status.message.contains("not accessible") {}
        }
        await expectCode(.failedPrecondition, contains: "not accessible") { try await disks.putPages(name, offset: 0, data: [UInt8](repeating: 1, count: 512)) }
        await expectCode(.failedPrecondition, contains: "not accessible") { _ = try await disks.pageRanges(name) }
        _ = try await c.call("atrest.v1.KeyVault/EnableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmkd")), as: KeyResponse.self, metadata: alice)
        try await eventually {
            guard try await disks.getPages(name, offset: 0, length: marker.count) == marker else { throw RPCStatus(.notFound, "not back yet") }
        }

        // Delete: gone, and a new disk of the same name reads zeros (nothing of the old one).
        try await disks.delete(name)
        await expectCode(.notFound) { _ = try await disks.properties(name) }
        try await disks.create(name, size: 3 * gib)
        #expect(try await disks.pageRanges(name).isEmpty)
        #expect(try await disks.getPages(name, offset: across, length: 4096) == [UInt8](repeating: 0, count: 4096))
        try await disks.delete(name)
        #expect(try await disks.listAll().isEmpty)
    }
}
