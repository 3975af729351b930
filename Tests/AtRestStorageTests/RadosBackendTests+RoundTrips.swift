@testable import AtRestBackends
import AtRestRados
import AtRestStorage
import AtRestTesting
import Testing

extension RadosBackendTests {
    /// The aio ops a put sends (`RadosPool.opsSent`), made as the store
    /// makes them (`openIfPresent` while sealing, then `beginPut` with what
    /// it found): a new object costs the probe, the entry, the head and the
    /// entry check (no head read of its own, no read of the container's
    /// index); a replace the probe and one head write; a `.mustNotExist`
    /// create no head read. Stale hints still end with one whole object
    /// and its entry.
    @Test func putRoundTrips() async throws {
        let backend = try await backend()
        let container = try BackendContainer("a-trips/c-one")
        try await backend.createContainer(container)
        let pool = backend.pool

        func sent(_ body: () async throws -> Void) async throws -> Int {
            let before = pool.opsSent
            try await body()
            return pool.opsSent - before
        }
        func put(_ name: BackendName, _ bytes: [UInt8], _ condition: WriteCondition, _ hint: PutHint) async throws {
            let upload = try await backend.beginPut(name, condition: condition, hint: hint)
            try await upload.append(bytes)
            try await upload.commit()
        }

        let name = try BackendName(container, "o-new")
        let created = try await sent {
            let probe = try await backend.openIfPresent(name)
            #expect(probe == nil)
            try await put(name, Fixtures.data(4096, seed: 1), .none, probe.map { .replacing($0) } ?? .absent)
        }
        #expect(created == 4, "a new object: probe, entry, head, entry check")
        let first = try #require(try await backend.currentHead(name))

        let replaced = try await sent {
            let probe = try #require(try await backend.openIfPresent(name))
            try await put(name, Fixtures.data(4096, seed: 2), .none, .replacing(probe))
        }
        #expect(replaced == 2, "a replace: probe, head")
        #expect(try await backend.get(name).bytes == Fixtures.data(4096, seed: 2))

        let staged = try BackendName(container, "o-staged")
        let exclusive = try await sent { try await put(staged, Fixtures.data(100, seed: 3), .mustNotExist, .unknown) }
        #expect(exclusive == 3, "a .mustNotExist create: entry, head, entry check")
        await #expect(throws: StorageError.self) { try await put(staged, Fixtures.data(100, seed: 4), .mustNotExist, .unknown) }
        #expect(try await backend.get(staged).bytes == Fixtures.data(100, seed: 3))
        let stagedHead = try #require(try await backend.currentHead(staged))
        #expect(try await backend.entry(container, "o-staged") == Array(stagedHead.record.entry.utf8), "a refused create left the entry changed")

        // A stale absence: another writer created the object after the
        // probe; the exclusive create fails, the head is read and replaced.
        try await put(name, Fixtures.data(4096, seed: 5), .none, .absent)
        #expect(try await backend.get(name).bytes == Fixtures.data(4096, seed: 5))
        let head = try #require(try await backend.currentHead(name))
        #expect(head.version > first.version)
        #expect(try await backend.entry(container, "o-new") == Array(head.record.entry.utf8))

        // `.mustMatch` of an object that is not there: refused before any write.
        let missing = try BackendName(container, "o-missing")
        let refused = try await sent {
            await #expect(throws: StorageError.self) { try await put(missing, [1], .mustMatch(BackendVersion("1")), .unknown) }
        }
        #expect(refused == 1, "only the head read")
        #expect(try await backend.entry(container, "o-missing") == nil)
        #expect(try await backend.openIfPresent(missing) == nil)

        try await backend.delete(name, condition: .none)
        try await backend.delete(staged, condition: .none)
        #expect(try await backend.list(container, prefix: "", continuation: nil, limit: 10).names == [])
    }
}
