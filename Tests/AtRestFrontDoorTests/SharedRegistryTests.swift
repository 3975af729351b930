import AtRestLocalState
import AtRestStorage
import AtRestWire
import Glibc
import Testing
@testable import AtRestFrontDoor

/// Two registries on one backend, as two front doors of one cluster (same
/// root key, one `local` backend directory): creations are seen at once,
/// changes within the refresh bound, races have one winner and lose no
/// update, and a tampered record fails closed.
@Suite(.serialized) struct SharedRegistryTests {
    let directory = TemporaryDirectory("shared-registry")
    static let refresh = Duration.milliseconds(200)

    /// Two registries sharing `<dir>/shared` and one root key.
    func pair() async throws -> (AccountRegistry, AccountRegistry) {
        let a = try await AccountRegistry.forTest("\(directory.path)/fd1", backend: "\(directory.path)/shared", refreshInterval: Self.refresh)
        try LocalFile.makeDirectory("\(directory.path)/fd2")
        _ = try LocalFile.createExclusive(try #require(try LocalFile.read("\(directory.path)/fd1/registry.key")), at: "\(directory.path)/fd2/registry.key")
        let b = try await AccountRegistry.forTest("\(directory.path)/fd2", backend: "\(directory.path)/shared", refreshInterval: Self.refresh)
        return (a, b)
    }

    func record(_ id: String, owners: [String] = ["usr_1"]) -> AccountRecord { AccountRegistryTests.record(id, owners: owners) }

    func create(_ registry: AccountRegistry, _ record: AccountRecord) async throws {
        try await registry.update(record.info.accountID) { existing in
            guard existing == nil else { throw RPCStatus(.alreadyExists, "account '\(record.info.accountID)' already exists") }
            return record
        }
    }

    @Test func anAccountCreatedOnOneIsServedByTheOtherAtOnce() async throws {
        let (a, b) = try await pair()
        defer { a.close(); b.close() }
        try await create(a, record("acct-1"))
        #expect(try await b.lookup("acct-1") == record("acct-1"), "a miss reads the backend")
        #expect(b.record("acct-1") == record("acct-1"), "and caches it")
        // The broker's path: a miss answers UNAVAILABLE (retry) and reads in the background.
        try await create(a, record("acct-2"))
        var first: RPCStatus?
        do { _ = try b.admissionRecord("acct-2") } catch { first = error }
        if let first { #expect(first.code == .unavailable && first.details["reason"] == "accountLookup") }
        try await waitUntil("acct-2 admitted on the second registry") { (try? b.admissionRecord("acct-2")) == record("acct-2") }
    }

    @Test func changesAndDeletionsThroughOneAreSeenByTheOtherWithinTheRefreshBound() async throws {
        let (a, b) = try await pair()
        defer { a.close(); b.close() }
        try await create(a, record("acct-1"))
        #expect(try await b.lookup("acct-1") != nil)
        try await a.update("acct-1") { current in
            var moved = try #require(current)
            moved.info.encryption.keySource = AccountEncryption.customer
            moved.info.encryption.keyID = "ck"
            return moved
        }
        let changed = try await waitUntil("the new key on the second registry") { b.record("acct-1")?.info.encryption.keyID == "ck" }
        try await a.update("acct-1") { _ in nil }
        let deleted = try await waitUntil("the deletion on the second registry") { b.record("acct-1") == nil }
        // Bound: one refresh interval plus one pass (docs/OPERATIONS.md); generous for a loaded 2-core machine.
        #expect(changed < .seconds(3) && deleted < .seconds(3), "seen after \(changed) and \(deleted) (interval \(Self.refresh))")
        #expect(try await b.lookup("acct-1") == nil)
        #expect(try await b.all().isEmpty)
    }

    @Test func concurrentCreatesOfOneNameHaveExactlyOneWinner() async throws {
        let (a, b) = try await pair()
        defer { a.close(); b.close() }
        for round in 0..<20 {
            let id = "race-\(round)"
            var results: [String: String] = [:]
            await withTaskGroup(of: (String, String).self) { group in
                for (side, registry) in [("a", a), ("b", b)] {
                    group.addTask {
                        do {
                            try await self.create(registry, self.record(id, owners: [side]))
                            return (side, "won")
                        } catch {
                            return (side, "\((error as? RPCStatus)?.code ?? StatusCode.internal)")
                        }
                    }
                }
                for await (side, result) in group { results[side] = result }
            }
            let winners = results.keys.filter { results[$0] == "won" }
            let losers = results.keys.filter { results[$0] == "\(StatusCode.alreadyExists)" }
            #expect(winners.count == 1 && losers.count == 1, "\(id): \(results)")
            let stored = try await a.lookup(id)
            #expect(stored?.info.owners == winners, "\(id): the winner's record is the one stored")
        }
    }

    @Test func concurrentUpdatesFromBothLoseNoUpdate() async throws {
        let (a, b) = try await pair()
        defer { a.close(); b.close() }
        try await create(a, record("acct-1", owners: []))
        let perWriter = 10
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (side, registry) in [("a", a), ("b", b), ("a2", a), ("b2", b)] {
                group.addTask {
                    for i in 0..<perWriter {
                        try await registry.update("acct-1") { current in
                            var next = try #require(current)
                            next.info.owners.append("\(side)-\(i)")
                            return next
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let owners = try #require(try await b.read("acct-1")).record.info.owners  // the backend, not the cache
        let expected = ["a", "b", "a2", "b2"].flatMap { side in (0..<perWriter).map { "\(side)-\($0)" } }
        #expect(owners.count == expected.count && Set(owners) == Set(expected), "\(owners.count) of \(expected.count); missing \(Set(expected).subtracting(owners).sorted())")
    }

    @Test func aTamperedOrMovedRecordFailsClosedWithDataLoss() async throws {
        let (a, b) = try await pair()
        defer { a.close(); b.close() }
        try await create(a, record("acct-1"))
        try await create(a, record("acct-2"))
        #expect(try await b.lookup("acct-1") != nil)
        #expect(try await b.lookup("acct-2") != nil)
        let container = "\(directory.path)/shared/registry"
        let one = try a.sealing.name("acct-1").object, two = try a.sealing.name("acct-2").object
        // acct-1's genuine record copied over acct-2's name, then one flipped bit in acct-1's.
        var bytes = try #require(try LocalFile.read("\(container)/\(one)"))
        try LocalFile.writeAtomically(bytes, to: "\(container)/\(two)")
        bytes[bytes.count / 2] ^= 0x01
        try LocalFile.writeAtomically(bytes, to: "\(container)/\(one)")
        await expectDataLoss { _ = try await a.all() }
        let fresh = try await AccountRegistry.forTest("\(directory.path)/fd1", backend: "\(directory.path)/shared", refreshInterval: Self.refresh)
        defer { fresh.close() }
        #expect(fresh.record("acct-1") == nil && fresh.record("acct-2") == nil, "records that do not open are not loaded")
        await expectDataLoss { _ = try await fresh.lookup("acct-1") }
        await expectDataLoss { _ = try await fresh.lookup("acct-2") }
        // The other registry drops its cached copies at its next pass; its broker path answers DATA_LOSS.
        try await waitUntil("the tampered records dropped from the cache") { b.record("acct-1") == nil && b.record("acct-2") == nil }
        for account in ["acct-1", "acct-2"] {
            try await waitUntil("DATA_LOSS on admission of \(account)") {
                do { _ = try b.admissionRecord(account); return false } catch { return (error as? RPCStatus)?.code == .dataLoss }
            }
        }
        // Other accounts are unaffected, and the registry keeps working.
        try await create(a, record("acct-3"))
        #expect(try await b.lookup("acct-3") == record("acct-3"))
    }

    func expectDataLoss(_ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected DATA_LOSS")
        } catch let status as RPCStatus {
            #expect(status.code == .dataLoss && status.details["reason"] == "registryIntegrity", "\(status)")
            #expect(status.message.contains("does not authenticate") || status.message.contains("names another account"), "\(status.message)")
        } catch {
            Issue.record("expected DATA_LOSS, got \(error)")
        }
    }
}
