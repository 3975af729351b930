@testable import AtRestBackends
import AtRestRados
import AtRestStorage
import AtRestTesting
import Testing

extension RadosBackendTests {
    /// A replace of an existing head writes the head only: the index object
    /// is not written (its RADOS version stays), the head carries on the
    /// entry's value, and a delete afterwards still removes the entry (it
    /// compares with that value), leaving nothing for the collector.
    @Test func replaceWritesNoIndexOp() async throws {
        let backend = try await backend(stripeSize: 64 << 10)
        let container = try BackendContainer("a-replace/c-one")
        try await backend.createContainer(container)
        let index = RadosLayout.index(container)
        for (object, size) in [("o-small", 5_000), ("o-striped", 300_000)] {
            let name = try BackendName(container, object)
            try await backend.put(name, Fixtures.data(size, seed: 1), condition: .mustNotExist)
            let created = try await backend.currentHead(name)
            let before = try await backend.pool.read(index, RadosReadOperation([.stat])).version
            for seed in 2...4 {
                try await backend.put(name, Fixtures.data(size, seed: UInt8(seed)))
            }
            let version = try await backend.stat(name).version
            try await backend.put(name, Fixtures.data(size, seed: 5), condition: .mustMatch(version))
            #expect(try await backend.pool.read(index, RadosReadOperation([.stat])).version == before, "\(object): the index was written")
            let head = try #require(try await backend.currentHead(name))
            #expect(head.record.entry == created?.record.upload && head.record.upload != head.record.entry)
            #expect(try await backend.entry(container, object) == Array(head.record.entry.utf8))
            #expect(BackendContract.same(try await backend.get(name).bytes, Fixtures.data(size, seed: 5)))
            try await backend.delete(name, condition: .none)
            #expect(try await backend.entry(container, object) == nil, "\(object): the delete left the entry")
        }
        #expect(try await backend.pool.objectNames().filter { $0.contains("@") } == [], "stripes of replaced versions left")
        #expect(try await backend.collectGarbage(olderThan: .zero) == RadosGarbageReport())
    }
}
