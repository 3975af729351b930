import AtRestCrypto
@testable import AtRestStorage
import Synchronization
import Testing

/// Races between a page write and a delete of its disk, made to happen at
/// the one moment that matters by running the delete from inside the
/// backend call the write is making (the local backend does the work).
@Suite struct DiskStoreRaceTests {
    /// A write that finds its region map missing makes it; a delete that
    /// removed the disk's name and its maps just before would leave that map
    /// behind, unreachable (the disk id is random), holding sealed chunks
    /// forever. The write must fail NOT_FOUND and leave no map.
    @Test func regionMadeWhileTheDiskIsDeletedIsRemovedAgain() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let key = try Fixtures.accountKey()
        let local = try LocalBackend(directory: dir.path)
        let hooked = HookedBackend(local)
        let writer = DiskStore(backend: hooked), deleter = DiskStore(backend: local)
        try await writer.createDisk(account: "acct", name: "racy", size: 1 << 20, accountKey: key)
        let disk = try await writer.lookUp("acct", "racy", key)
        let region = try writer.region(disk, 0)
        // Just before the write makes region 0, the disk goes (name, then maps: there are none yet).
        hooked.beforeCreatingMap(region) { try await deleter.deleteDisk(account: "acct", name: "racy", accountKey: key) }
        await DiskStoreContract.expectError(.notFound, "disk 'racy' does not exist") {
            try await writer.writePages(account: "acct", name: "racy", offset: 4096, data: DiskStoreContract.fill(7, 8192), accountKey: key)
        }
        #expect(hooked.ran, "the delete did not run where the race happens")
        await DiskStoreContract.expectError(.notFound) { try await local.recordKeys(region, after: nil, limit: 10) }

        // The same write with nothing racing makes the map and keeps it.
        try await writer.createDisk(account: "acct", name: "calm", size: 1 << 20, accountKey: key)
        try await writer.writePages(account: "acct", name: "calm", offset: 4096, data: DiskStoreContract.fill(7, 8192), accountKey: key)
        let calm = try writer.region(try await writer.lookUp("acct", "calm", key), 0)
        #expect(try await local.recordKeys(calm, after: nil, limit: 10).keys.count == 2)
    }
}

/// A backend that forwards every call, and runs a hook once just before
/// one record map is created (or one batch matching a test is applied);
/// a delete of a map matching `failingDeletes` throws `.io` instead (a crash there).
final class HookedBackend: StorageBackend {
    private let base: any StorageBackend
    private let hook = Mutex<(map: RecordMapName, body: @Sendable () async throws -> Void)?>(nil)
    private let batchHook = Mutex<(test: @Sendable (RecordMapName, RecordBatch) -> Bool, body: @Sendable () async throws -> Void)?>(nil)
    private let failing = Mutex<(@Sendable (RecordMapName) -> Bool)?>(nil)
    private let done = Atomic<Bool>(false)

    /// Runs `body` once, just before the first batch for which `test` holds is applied.
    func beforeApplying(where test: @escaping @Sendable (RecordMapName, RecordBatch) -> Bool, _ body: @escaping @Sendable () async throws -> Void) {
        done.store(false, ordering: .relaxed)
        batchHook.withLock { $0 = (test, body) }
    }

    /// Deletes of maps for which `test` holds fail (nil: none).
    func failingDeletes(where test: (@Sendable (RecordMapName) -> Bool)?) { failing.withLock { $0 = test } }

    init(_ base: any StorageBackend) { self.base = base }

    func beforeCreatingMap(_ map: RecordMapName, _ body: @escaping @Sendable () async throws -> Void) {
        hook.withLock { $0 = (map, body) }
    }

    var ran: Bool { done.load(ordering: .relaxed) }

    var kind: BackendKind { base.kind }
    func createContainer(_ container: BackendContainer) async throws { try await base.createContainer(container) }
    func deleteContainer(_ container: BackendContainer) async throws { try await base.deleteContainer(container) }
    func beginPut(_ name: BackendName, condition: WriteCondition) async throws -> any BackendUpload {
        try await base.beginPut(name, condition: condition)
    }
    func beginPut(_ name: BackendName, condition: WriteCondition, hint: PutHint) async throws -> any BackendUpload {
        try await base.beginPut(name, condition: condition, hint: hint)
    }
    func open(_ name: BackendName) async throws -> any BackendObject { try await base.open(name) }
    func openIfPresent(_ name: BackendName) async throws -> (any BackendObject)? { try await base.openIfPresent(name) }
    func stat(_ name: BackendName) async throws -> BackendObjectInfo { try await base.stat(name) }
    func delete(_ name: BackendName, condition: WriteCondition) async throws { try await base.delete(name, condition: condition) }
    func list(_ container: BackendContainer, prefix: String, continuation: String?, limit: Int) async throws -> BackendListPage {
        try await base.list(container, prefix: prefix, continuation: continuation, limit: limit)
    }
    func createRecordMap(_ map: RecordMapName) async throws {
        let body = hook.withLock { hook -> (@Sendable () async throws -> Void)? in
            guard let current = hook, current.map == map else { return nil }
            hook = nil
            return current.body
        }
        if let body {
            try await body()
            done.store(true, ordering: .relaxed)
        }
        try await base.createRecordMap(map)
    }
    func deleteRecordMap(_ map: RecordMapName) async throws {
        if failing.withLock({ $0?(map) ?? false }) { throw StorageError(.io, "deleting \(map) failed (test)") }
        try await base.deleteRecordMap(map)
    }
    func records(_ map: RecordMapName, after: String?, limit: Int) async throws -> RecordPage {
        try await base.records(map, after: after, limit: limit)
    }
    func records(_ map: RecordMapName, keys: [String]) async throws -> [String: [UInt8]] { try await base.records(map, keys: keys) }
    func recordKeys(_ map: RecordMapName, after: String?, limit: Int) async throws -> (keys: [String], more: Bool) {
        try await base.recordKeys(map, after: after, limit: limit)
    }
    func apply(_ batch: RecordBatch, to map: RecordMapName) async throws {
        let body = batchHook.withLock { hook -> (@Sendable () async throws -> Void)? in
            guard let current = hook, current.test(map, batch) else { return nil }
            hook = nil
            return current.body
        }
        if let body {
            try await body()
            done.store(true, ordering: .relaxed)
        }
        try await base.apply(batch, to: map)
    }
}
