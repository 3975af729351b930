import AtRestClient
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// File shares end to end through `FileClient` and the real processes
/// (front door, two workers, vault, identity), on the local backend and on
/// a throwaway Ceph cluster: writes across chunk and region boundaries,
/// sparse reads, reads cut at the end, concurrent writers to different
/// ranges of one file, resize, attributes, paged listings, renames, the
/// quota, a customer key disabled and enabled again, no plaintext in the
/// storage.
@Suite(.serialized) struct FileEndToEndTests {
    @Test(arguments: StorageUnderTest.allCases)
    func filesEndToEnd(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.blobClusterOptions) { on in try await endToEnd(on) }
    }

    func endToEnd(_ on: ClusterOnStorage) async throws {
        let cluster = on.cluster
        try await cluster.waitForWorkers(count: 2)
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        _ = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-f"), as: AccountInfo.self, metadata: alice)
        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        let files = FileClient(ServiceClient(rpc: c, token: token), account: "acct-f")

        // A share with a quota; the root exists and is empty.
        let share = "team-share-numbat-7710", gib: UInt64 = 1 << 30
        let created = try await files.createShare(share, quota: 2 * gib, metadata: ["team": "blue"])
        #expect(created.quota == 2 * gib && created.usageBytes == 0 && created.metadata == ["team": "blue"] && created.createdAtMs > 0)
        #expect(try await files.properties(share, "/").isDirectory)
        #expect(try await files.listAll(share, "").isEmpty)
        await expectCode(.alreadyExists) { try await files.createShare(share, quota: 1) }
        await expectCode(.notFound, contains: "does not exist") { _ = try await files.listAll("no-such-share", "") }

        // Directories (Unicode names) and a file that costs nothing until written.
        let dir = "Projekt Ölfeld 日本/src"
        try await files.createDirectory(share, "Projekt Ölfeld 日本")
        try await files.createDirectory(share, dir, mode: 0o700, metadata: ["kind": "source"])
        #expect(try await files.properties(share, dir).mode == 0o700)
        let path = dir + "/big-file-dingo.bin"
        let file = try await files.createFile(share, path, size: 1536 << 20)
        #expect(file.isFile && file.size == 1536 << 20 && file.mode == 0o644)
        #expect(try await files.readFile(share, path, offset: gib - 100, length: 4096) == [UInt8](repeating: 0, count: 4096))
        await expectCode(.alreadyExists) { try await files.createFile(share, path) }
        await expectCode(.notFound) { try await files.createFile(share, "missing-dir/x") }
        await expectCode(.failedPrecondition, contains: "not a directory", reason: "notDirectory") { try await files.createFile(share, path + "/below") }

        // Across the first region boundary, not chunk-aligned (read-modify-write at both ends), larger than one call.
        let marker = Array("file-content-marker-bilby-3381 ".utf8)
        var pattern = [UInt8](repeating: 0, count: (9 << 20) + 333)
        for index in pattern.indices { pattern[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 9) }
        pattern.replaceSubrange(0..<marker.count, with: marker)
        let across = gib - (3 << 20) - 777
        try await files.writeFile(share, path, offset: across, data: pattern)
        #expect(try await files.readFile(share, path, offset: across, length: pattern.count) == pattern)
        #expect(try await files.readFile(share, path, offset: across - 512, length: 512) == [UInt8](repeating: 0, count: 512))
        let end = across + UInt64(pattern.count)
        #expect(try await files.readFile(share, path, offset: end, length: 512) == [UInt8](repeating: 0, count: 512))
        #expect(try await files.properties(share, path).size == 1536 << 20, "writes inside the size leave it")

        // A write past the end extends the file; reads are cut at the end.
        try await files.writeFile(share, path, offset: (1536 << 20) + 10, data: marker)
        let grown = (1536 << 20) + 10 + UInt64(marker.count)
        #expect(try await files.properties(share, path).size == grown)
        #expect(try await files.readFile(share, path, offset: grown - 20, length: 100) == Array(marker.suffix(20)))
        #expect(try await files.readFile(share, path, offset: grown + 5, length: 100) == [])
        #expect(try await files.shareProperties(share).usageBytes == grown)

        // Concurrent writers to different ranges of one file (sharing chunks
        // at their edges, over both workers, some extending it): all succeed.
        let small = dir + "/shared-ranges.bin"
        try await files.createFile(share, small)
        let piece = 50_000, writers = 8
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    try await files.writeFile(share, small, offset: UInt64(writer * piece), data: [UInt8](repeating: UInt8(writer + 1), count: piece))
                }
            }
            try await group.waitForAll()
        }
        let whole = try await files.readFile(share, small, offset: 0, length: writers * piece)
        let smallSize = try await files.properties(share, small).size
        #expect(whole.count == writers * piece && smallSize == UInt64(writers * piece))
        for writer in 0..<writers {
            #expect(whole[writer * piece..<(writer + 1) * piece].allSatisfy { $0 == UInt8(writer + 1) }, "writer \(writer)'s range")
        }

        // CreateFile with a payload: the new file holds it (in one batch up to 8 KiB, created then written past it).
        for (name, count) in [("with-data-small.txt", 3000), ("with-data-large.bin", 100_000)] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            let made = try await files.createFile(share, dir + "/" + name, data: bytes, mode: 0o600)
            #expect(made.size == UInt64(count) && made.mode == 0o600)
            #expect(try await files.readFile(share, dir + "/" + name, offset: 0, length: count) == bytes)
            try await files.deleteFile(share, dir + "/" + name)
        }
        await expectCode(.alreadyExists) { try await files.createFile(share, small, data: [1]) }

        // Resize: truncate then extend reads zeros; flush, mode, times, metadata.
        #expect(try await files.resizeFile(share, small, size: 1000).size == 1000)
        #expect(try await files.resizeFile(share, small, size: 3000).size == 3000)
        let resized = try await files.readFile(share, small, offset: 0, length: 3000)
        #expect(resized.prefix(1000).allSatisfy { $0 == 1 } && resized.suffix(2000).allSatisfy { $0 == 0 })
        let stamped = try await files.setTimes(share, small, mtimeMs: 1_000_000)
        #expect(stamped.mtimeMs == 1_000_000)
        #expect(try await files.flushFile(share, small).mtimeMs > 1_000_000)
        #expect(try await files.setMode(share, small, mode: 0o600).mode == 0o600)
        #expect(try await files.setMetadata(share, small, ["owner": "file-meta-quokka-6620"]).metadata == ["owner": "file-meta-quokka-6620"])
        #expect(try await files.properties(share, small).metadata == ["owner": "file-meta-quokka-6620"])

        // A paged listing of 25 files, 10 at a time: every name once.
        try await files.createDirectory(share, "many")
        for index in 0..<25 { try await files.createFile(share, "many/f-\(index)") }
        var seen: [String] = [], continuation = "", pages = 0
        repeat {
            let page = try await files.listDirectory(share, "many", pageSize: 10, continuation: continuation)
            seen += page.entries.map(\.name)
            continuation = page.continuation
            pages += 1
        } while !continuation.isEmpty
        #expect(seen.sorted() == (0..<25).map { "f-\($0)" }.sorted() && pages == 3)

        // Rename: a directory with its subtree; no-replace; replace a file; into itself refused.
        try await files.rename(share, from: "Projekt Ölfeld 日本", to: "many/moved")
        #expect(try await files.readFile(share, "many/moved/src/big-file-dingo.bin", offset: across, length: marker.count) == marker)
        await expectCode(.notFound) { _ = try await files.properties(share, path) }
        await expectCode(.alreadyExists) { try await files.rename(share, from: "many/f-1", to: "many/f-2", replace: false) }
        try await files.rename(share, from: "many/f-1", to: "many/f-2")
        await expectCode(.invalidArgument, contains: "into itself") { try await files.rename(share, from: "many", to: "many/moved/src/inner") }
        try await files.writeFile(share, "many/f-3", offset: 0, data: [3])
        try await files.writeFile(share, "many/f-4", offset: 0, data: [4, 4])
        try await files.exchange(share, "many/f-3", "many/f-4")
        #expect(try await files.readFile(share, "many/f-3", offset: 0, length: 10) == [4, 4])
        #expect(try await files.readFile(share, "many/f-4", offset: 0, length: 10) == [3])
        await expectCode(.notFound) { try await files.exchange(share, "many/f-3", "many/no-such") }
        await expectCode(.failedPrecondition, contains: "not empty", reason: "notEmpty") { try await files.deleteDirectory(share, "many") }
        await expectCode(.failedPrecondition, contains: "is a directory", reason: "isDirectory") { try await files.deleteFile(share, "many/moved") }

        // The quota: a write that would pass it is RESOURCE_EXHAUSTED and changes nothing.
        let before = try await files.shareProperties(share)
        _ = try await files.setShareQuota(share, quota: before.usageBytes + 100)
        await expectCode(.resourceExhausted, contains: "quota") {
            try await files.writeFile(share, "many/f-0", offset: 0, data: [UInt8](repeating: 9, count: 101))
        }
        #expect(try await files.properties(share, "many/f-0").size == 0)
        try await files.writeFile(share, "many/f-0", offset: 0, data: [UInt8](repeating: 9, count: 100))
        #expect(try await files.shareProperties(share).usageBytes == before.usageBytes + 100)

        // Nothing of names, metadata or contents in clear in the storage.
        let stored = try await on.storedObjects()
        #expect(!stored.isEmpty)
        for text in [String(decoding: marker, as: UTF8.self), share, "Ölfeld", "big-file-dingo", "file-meta-quokka-6620", "shared-ranges"] {
            for object in stored {
                #expect(!object.name.contains(text), "\(object.name) shows \(text)")
                #expect(!contains(object.bytes, Array(text.utf8)), "\(object.name) contains \(text)")
            }
        }

        // A customer key: disabled, reads and writes fail with a clear key error; enabled, they work again.
        let mi = try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "acct-f"), as: AccountInfo.self, metadata: alice).message.managedIdentity
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "cmkf")), as: KeyResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "cmkf"), principalID: mi, operations: [.wrap, .unwrap])),
                             as: AccessResponse.self, metadata: alice)
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-f", keySource: "customer", keyID: "cmkf"),
                             as: AccountEncryption.self, metadata: alice)
        try await files.createShare("cmk-share", quota: 1 << 20)
        try await files.createFile("cmk-share", "note")
        try await files.writeFile("cmk-share", "note", offset: 0, data: marker)
        _ = try await c.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmkf")), as: KeyResponse.self, metadata: alice)
        try await eventually {
            do {
                _ = try await files.readFile("cmk-share", "note", offset: 0, length: 10)
                throw RPCStatus(.unavailable, "still readable")
            } catch let status as RPCStatus where status.message.contains("not accessible") {}
        }
        await expectCode(.failedPrecondition, contains: "not accessible", reason: "keyInaccessible") { try await files.writeFile("cmk-share", "note", offset: 0, data: [1]) }
        await expectCode(.failedPrecondition, contains: "not accessible", reason: "keyInaccessible") { _ = try await files.listAll("cmk-share", "") }
        _ = try await c.call("atrest.v1.KeyVault/EnableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmkf")), as: KeyResponse.self, metadata: alice)
        try await eventually {
            guard try await files.readFile("cmk-share", "note", offset: 0, length: marker.count) == marker else { throw RPCStatus(.notFound, "not back yet") }
        }

        // Delete: recursive directory, then the shares; a new share of the same name is empty.
        try await files.deleteDirectory(share, "many", recursive: true)
        let emptied = try await files.shareProperties(share)
        #expect(emptied.usageBytes == 0 && emptied.files == 0 && emptied.directories == 0, "\(emptied)")
        try await files.deleteShare(share)
        await expectCode(.notFound) { _ = try await files.shareProperties(share) }
        try await files.createShare(share, quota: 1 << 20)
        #expect(try await files.listAll(share, "").isEmpty)
        try await files.deleteShare(share)
        try await files.deleteShare("cmk-share")
        #expect(try await files.listAllShares().isEmpty)
    }
}
