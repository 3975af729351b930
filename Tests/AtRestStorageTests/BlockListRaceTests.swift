import AtRestCrypto
import Foundation
import Synchronization
import Testing
@testable import AtRestStorage

/// Readers racing commits that replace a block list: the replaced list's
/// block files go away (or become spares) while a read may still be on the
/// old list. Every read must return one whole generation, never an error
/// and never a mix.
@Suite struct BlockListRaceTests {
    @Test func readsDuringReplacingCommitsSeeOneWholeGeneration() async throws {
        let key = try Fixtures.accountKey()
        try await Fixtures.withStore(key) { store, _ in
            let blockSize = 70_000, blocks = 3
            func commit(_ generation: UInt8) async throws {
                let ids = (0..<blocks).map { [generation, UInt8($0)] }
                for id in ids {
                    try await store.stageBlock(account: "acct", container: "c", name: "list", blockID: id,
                                         data: [UInt8](repeating: generation, count: blockSize), accountKey: key)
                }
                try await store.commitBlocks(account: "acct", container: "c", name: "list", blockIDs: ids, accountKey: key)
            }
            try await commit(0)
            let stop = Atomic<Bool>(false)
            let outcome = Mutex<(reads: Int, failures: [String])>((0, []))
            let reader = Task {
                while !stop.load(ordering: .acquiring) {
                    do {
                        let (_, data) = try await store.get(account: "acct", container: "c", name: "list", accountKey: key)
                        let whole = data.count == blockSize * blocks && data.allSatisfy { $0 == data[0] }
                        outcome.withLock { $0.reads += 1; if !whole { $0.failures.append("mixed or short read") } }
                    } catch {
                        outcome.withLock { $0.failures.append("\(error)") }
                    }
                }
            }
            for generation in 1...120 { try await commit(UInt8(truncatingIfNeeded: generation)) }
            stop.store(true, ordering: .releasing)
            await reader.value
            let result = outcome.withLock { $0 }
            #expect(result.reads > 0)
            #expect(result.failures.isEmpty, "\(result.failures.prefix(3))")
        }
    }
}

/// `read(clipToLength:willRead:)`: the range is cut to the object that was
/// opened, and `willRead` sees it (and may refuse it) before any byte.
@Suite struct ClippedReadTests {
    @Test func rangesAreClippedToTheOpenedObjectAndSeenFirst() async throws {
        let key = try Fixtures.accountKey()
        try await Fixtures.withStore(key) { store, _ in
            let data = Fixtures.data(100_000)
            try await store.put(account: "acct", container: "c", name: "o", data: data, accountKey: key)
            var seen: [Range<UInt64>] = []
            var out: [UInt8] = []
            try await store.read(account: "acct", container: "c", name: "o", range: 99_990..<200_000, clipToLength: true, accountKey: key,
                           willRead: { seen.append($0) }, to: { out.append(contentsOf: $0) })
            #expect(seen == [99_990..<100_000] && out == Array(data[99_990...]))
            struct TooLarge: Error {}
            var emitted = 0
            await #expect(throws: TooLarge.self) {
                try await store.read(account: "acct", container: "c", name: "o", accountKey: key,
                               willRead: { if $0.count > 50_000 { throw TooLarge() } }, to: { emitted += $0.count })
            }
            #expect(emitted == 0)
            // Without clipping, a range past the end is still an error.
            await #expect(throws: StorageError.self) {
                try await store.read(account: "acct", container: "c", name: "o", range: 0..<200_000, accountKey: key, to: { _ in })
            }
        }
    }
}
