import Foundation
import Testing
@testable import AtRestStorage

/// `ContainerCache`: a put within the cache lifetime skips the marker read,
/// and a stale entry never lets a write into a container another store
/// deleted (the backend refuses it).
@Suite struct ContainerCacheTests {
    let key: AccountKey
    init() throws { key = try Fixtures.accountKey() }

    @Test func seenMarkerIsNotReadAgainAndDeletedContainersRefuseWrites() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let (one, two) = (try ObjectStore(directory: dir.path), try ObjectStore(directory: dir.path))
        try await one.createContainer(account: "acct", name: "c", accountKey: key)
        try await one.put(account: "acct", container: "c", name: "a", data: [1], accountKey: key)
        // The marker moved away behind the store's back: the cached check does not read it.
        let marker = dir.path + "/" + (try one.containerID("acct", "c", key)).id + "/container"
        try FileManager.default.moveItem(atPath: marker, toPath: marker + ".away")
        try await one.put(account: "acct", container: "c", name: "b", data: [2], accountKey: key)
        await #expect(throws: StorageError.self) { try await two.put(account: "acct", container: "c", name: "x", data: [3], accountKey: key) }
        try FileManager.default.moveItem(atPath: marker + ".away", toPath: marker)

        // Deleted by another store: the first one's cached entry does not let a put (or a staged block) in.
        for name in ["a", "b"] { try await two.delete(account: "acct", container: "c", name: name, accountKey: key) }
        try await two.deleteContainer(account: "acct", name: "c", accountKey: key)
        for attempt in 0..<2 {
            do {
                try await one.stageBlock(account: "acct", container: "c", name: "n", blockID: [1], data: [4], accountKey: key)
                try await one.put(account: "acct", container: "c", name: "n", data: [4], accountKey: key)
                Issue.record("attempt \(attempt): a write into a deleted container succeeded")
            } catch let error as StorageError {
                #expect(error.code == .containerNotFound && error.message.contains("container 'c' does not exist"), "\(error)")
            }
        }
        #expect(try await one.listContainers(account: "acct", accountKey: key) == [])
    }
}
