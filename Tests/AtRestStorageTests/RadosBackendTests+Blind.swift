@testable import AtRestBackends
@testable import AtRestStorage
import AtRestRados
import AtRestTesting
import Foundation
import Testing

extension RadosBackendTests {
    /// `PutHint.blind`: a head put `blindReplaceable` and unstriped is
    /// replaced in one write op that reads nothing, keeping its index
    /// entry's value; anything else (a head not so marked, a striped one,
    /// none) refuses with `.conditionFailed` and changes nothing; a delete
    /// and the collector after blind replaces find the entry they expect.
    @Test func blindReplace() async throws {
        let backend = try await backend(stripeSize: 64 << 10)
        let container = try BackendContainer("a-blind/c-one")
        try await backend.createContainer(container)
        let pool = backend.pool
        #expect(backend.blindReplaceLimit == backend.singleObjectLimit)

        func sent(_ body: () async throws -> Void) async throws -> Int {
            let before = pool.opsSent
            try await body()
            return pool.opsSent - before
        }
        func put(_ name: BackendName, _ bytes: [UInt8], _ hint: PutHint, replaceable: Bool = true) async throws {
            try await Self.put(backend, name, bytes, hint: hint, blindReplaceable: replaceable)
        }
        func refused(_ name: BackendName, _ bytes: [UInt8]) async throws {
            let error = await #expect(throws: StorageError.self) { try await put(name, bytes, .blind) }
            #expect(error?.code == .conditionFailed)
        }

        // A marked head: replaced blind in one op, its entry kept.
        let plain = try BackendName(container, "o-plain")
        try await put(plain, Fixtures.data(4096, seed: 1), .absent)
        let created = try #require(try await backend.currentHead(plain))
        let blindOps = try await sent { try await put(plain, Fixtures.data(4096, seed: 2), .blind) }
        #expect(blindOps == 1, "one write op, no read")
        #expect(try await backend.get(plain).bytes == Fixtures.data(4096, seed: 2))
        let replaced = try #require(try await backend.currentHead(plain))
        #expect(replaced.version > created.version)
        #expect(replaced.record.upload != created.record.upload)
        #expect(replaced.record.entry == created.record.entry, "the entry value stays with the head")
        #expect(try await backend.entry(container, "o-plain") == Array(replaced.record.entry.utf8))
        // Twice more, then a replace that looked, then blind again: the mark and the entry carry on.
        try await put(plain, Fixtures.data(100, seed: 3), .blind)
        let opened = try #require(try await backend.openIfPresent(plain))
        try await put(plain, Fixtures.data(5000, seed: 4), .replacing(opened))
        try await put(plain, Fixtures.data(7, seed: 5), .blind)
        #expect(try await backend.get(plain).bytes == Fixtures.data(7, seed: 5))
        #expect(try await backend.currentHead(plain)?.record.entry == created.record.entry)

        // Not marked (another kind of put, or an earlier release): refused, unchanged.
        let unmarked = try BackendName(container, "o-unmarked")
        try await put(unmarked, Fixtures.data(4096, seed: 6), .absent, replaceable: false)
        try await refused(unmarked, Fixtures.data(4096, seed: 7))
        #expect(try await backend.get(unmarked).bytes == Fixtures.data(4096, seed: 6))
        // A head written before atrest.blind existed has none: refused too.
        try await pool.operate(RadosLayout.head(unmarked), RadosWriteOperation([.setXattr(name: RadosLayout.blindXattr, value: [])]))
        try await refused(unmarked, Fixtures.data(4096, seed: 7))

        // Marked but striped (above one stripe): refused, its stripes intact.
        let striped = try BackendName(container, "o-striped")
        let large = Fixtures.data(200_000, seed: 8)
        try await put(striped, Array(large[..<100_000]), .absent)
        let upload = try await backend.beginPut(striped, condition: .none, hint: .unknown, blindReplaceable: true)
        try await upload.append(Array(large[..<100_000]))
        try await upload.append(Array(large[100_000...]))
        try await upload.commit()
        try await refused(striped, Fixtures.data(4096, seed: 9))
        #expect(BackendContract.same(try await backend.get(striped).bytes, large))

        // Nothing there: refused, nothing made.
        let missing = try BackendName(container, "o-missing")
        try await refused(missing, Fixtures.data(10, seed: 10))
        #expect(try await backend.openIfPresent(missing) == nil)
        #expect(try await backend.entry(container, "o-missing") == nil)

        // A blind replace takes no condition.
        await #expect(throws: StorageError.self) {
            _ = try await backend.beginPut(plain, condition: .mustNotExist, hint: .blind, blindReplaceable: true)
        }

        // The collector finds every head with the entry it records; a delete removes head and entry.
        #expect(try await backend.collectGarbage(olderThan: .zero) == RadosGarbageReport())
        try await backend.delete(plain, condition: .none)
        #expect(try await backend.entry(container, "o-plain") == nil)
        #expect(try await backend.list(container, prefix: "", continuation: nil, limit: 10).names == ["o-striped", "o-unmarked"])
    }
}

extension RadosBackendTests {
    /// The store replaces a plain object it put blind (one RADOS op per
    /// put, the probe skipped); when another worker (a second store on its
    /// own cluster connection) turned the name into a block list meanwhile,
    /// the blind write is refused, the put probes, and the list's blocks go:
    /// nothing leaks. A delete through either store, then a put again.
    @Test func storeReplacesItsPlainObjectsBlind() async throws {
        let namespace = "blind-\(UUID().uuidString)"
        let key = try Fixtures.accountKey()
        let (one, two) = (try await backend(namespace: namespace), try await backend(namespace: namespace))
        let (worker1, worker2) = (ObjectStore(backend: one), ObjectStore(backend: two))
        try await worker1.createContainer(account: "acct", name: "docs", accountKey: key)

        _ = try await worker1.put(account: "acct", container: "docs", name: "n", data: Fixtures.data(4096, seed: 1), accountKey: key)
        let before = one.pool.opsSent
        _ = try await worker1.put(account: "acct", container: "docs", name: "n", data: Fixtures.data(4096, seed: 2), accountKey: key)
        #expect(one.pool.opsSent - before == 1, "a put of a name this store put: one blind write (the container is cached)")
        #expect(try await worker2.get(account: "acct", container: "docs", name: "n", accountKey: key).data == Fixtures.data(4096, seed: 2))

        // Another worker makes it a block list of two blocks.
        let blocks = [Fixtures.data(70_000, seed: 3), Fixtures.data(5000, seed: 4)]
        for (i, block) in blocks.enumerated() {
            _ = try await worker2.stageBlock(account: "acct", container: "docs", name: "n", blockID: [UInt8(i)], data: block, accountKey: key)
        }
        _ = try await worker2.commitBlocks(account: "acct", container: "docs", name: "n", blockIDs: [[0], [1]], accountKey: key)
        let container = try worker1.containerID("acct", "docs", key)
        let listed = try await one.list(container, prefix: "", continuation: nil, limit: 100).names
        #expect(listed.count == 4, "marker, head and two committed blocks: \(listed)")

        // The first worker's next put is refused blind, probes and removes the blocks.
        _ = try await worker1.put(account: "acct", container: "docs", name: "n", data: Fixtures.data(4096, seed: 5), accountKey: key)
        #expect(try await worker2.get(account: "acct", container: "docs", name: "n", accountKey: key).data == Fixtures.data(4096, seed: 5))
        #expect(try await one.list(container, prefix: "", continuation: nil, limit: 100).names.count == 2, "the block list's blocks are gone")

        // Deleted by the other worker: the next blind write finds nothing, the put creates it again.
        try await worker2.delete(account: "acct", container: "docs", name: "n", accountKey: key)
        _ = try await worker1.put(account: "acct", container: "docs", name: "n", data: Fixtures.data(10, seed: 6), accountKey: key)
        #expect(try await worker2.get(account: "acct", container: "docs", name: "n", accountKey: key).data == Fixtures.data(10, seed: 6))
        let page = try await worker2.list(account: "acct", container: "docs", accountKey: key)
        #expect(page.objects.map(\.name) == ["n"])
        #expect(try await one.collectGarbage(olderThan: .zero) == RadosGarbageReport())
    }
}
