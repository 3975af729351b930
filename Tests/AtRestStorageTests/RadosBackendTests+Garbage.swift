@testable import AtRestBackends
import AtRestRados
import AtRestStorage
import Foundation
import Testing

extension RadosBackendTests {
    /// What a crashed writer or a lost race leaves (stripes of an upload no
    /// head names, an entry without a head, a head without an entry) is
    /// removed or repaired, only once older than the retention; live
    /// objects and their stripes stay.
    @Test func garbageCollectorRemovesOnlyWhatNothingReferences() async throws {
        let backend = try await backend(stripeSize: 64 << 10)
        let container = try BackendContainer("a-gc/c-one")
        try await backend.createContainer(container)
        let live = Fixtures.data(200_000, seed: 5)
        try await backend.put(try BackendName(container, "o-live"), live)
        try await backend.put(try BackendName(container, "o-orphan"), [1, 2])
        try await backend.updateEntry(container, "o-orphan", expecting: nil, set: nil)
        try await backend.updateEntry(container, "o-stale", expecting: nil, set: Array(UploadID.make().utf8))
        let leftovers = [RadosLayout.stripe("a-gc/c-one/o-live", upload: UploadID.make(), 0),
                         RadosLayout.stripe("a-gc/c-one/o-never", upload: UploadID.make(), 3)]
        for stripe in leftovers { try await backend.pool.writeFull(stripe, [9, 9]) }
        let before = Set(try await backend.pool.objectNames())

        let young = try await backend.collectGarbage(olderThan: .seconds(3600))
        #expect(young.stripesRemoved == 0 && young.entriesRemoved == 0)
        #expect(young.entriesRepaired == 1, "a head without its entry gets it back at once")
        #expect(Set(try await backend.pool.objectNames()) == before)

        var expected = RadosGarbageReport()
        (expected.stripesRemoved, expected.entriesRemoved) = (2, 1)
        #expect(try await backend.collectGarbage(olderThan: .zero) == expected)
        let after = Set(try await backend.pool.objectNames())
        #expect(after == before.subtracting(leftovers))
        #expect(after.filter { $0.contains("@") }.count == 4, "o-live's four stripes stay")
        #expect(try await backend.list(container, prefix: "", continuation: nil, limit: 10).names == ["o-live", "o-orphan"])
        #expect(BackendContract.same(try await backend.get(try BackendName(container, "o-live")).bytes, live))
        #expect(try await backend.collectGarbage(olderThan: .zero) == RadosGarbageReport())
    }

    /// Two clients (two cluster connections) overwrite (marked for blind
    /// replaces or not, blind or after a read) and delete the same 20 names for 3 s: every name ends absent or one writer's whole bytes,
    /// no call fails but with `.notFound`, every head has its index entry
    /// (stale entries are allowed), and after garbage collection
    /// every RADOS object is an index, a listed head or a stripe its head
    /// names.
    @Test func twoClientsRacingLeaveWholeObjectsAndNoGarbage() async throws {
        let namespace = "race-\(UUID().uuidString)"
        let clients = [try await backend(stripeSize: 64 << 10, namespace: namespace), try await backend(stripeSize: 64 << 10, namespace: namespace)]
        let container = try BackendContainer("a-race/c-one")
        try await clients[0].createContainer(container)
        let names = try (0..<20).map { try BackendName(container, "o-\($0)") }
        let deadline = ContinuousClock.now + .seconds(3)
        let lanes = await withTaskGroup(of: (calls: Int, blind: Int, unexpected: [String]).self) { group in
            for writer in 0..<8 {
                let backend = clients[writer % 2]
                group.addTask {
                    var (calls, blind, unexpected, sequence) = (0, 0, [String](), 0)
                    while ContinuousClock.now < deadline {
                        let name = names.randomElement()!
                        sequence += 1
                        do {
                            let payload = Self.payload(writer: writer, sequence: sequence)
                            switch sequence % 4 {
                            case 0: try await backend.delete(name, condition: .none)
                            case 1: if try await Self.putBlindFirst(backend, name, payload) { blind += 1 }
                            case 2: try await backend.put(name, payload)
                            default: try await Self.put(backend, name, payload, hint: .unknown, blindReplaceable: true)
                            }
                        } catch let error as StorageError where error.code == .notFound {
                        } catch {
                            unexpected.append("\(error)")
                        }
                        calls += 1
                    }
                    return (calls, blind, unexpected)
                }
            }
            return await group.reduce(into: [(calls: Int, blind: Int, unexpected: [String])]()) { $0.append($1) }
        }
        #expect(lanes.map(\.blind).reduce(0, +) > 0, "no put replaced blind")
        #expect(lanes.flatMap(\.unexpected) == [])
        #expect(lanes.map(\.calls).reduce(0, +) > 40, "calls made: \(lanes.map(\.calls))")

        var present = Set<String>()
        for name in names {
            do {
                let bytes = try await clients[1].get(name).bytes
                #expect(Self.isWhole(bytes), "\(name) is not one writer's whole bytes (\(bytes.count) bytes)")
                present.insert(name.object)
            } catch let error as StorageError where error.code == .notFound {}
        }
        let indexed = Set(try await clients[0].list(container, prefix: "", continuation: nil, limit: 100).names)
        #expect(present.isSubset(of: indexed), "heads without an index entry: \(present.subtracting(indexed).sorted())")
        _ = try await clients[0].collectGarbage(olderThan: .zero)
        let listed = Set(try await clients[0].list(container, prefix: "", continuation: nil, limit: 100).names)
        #expect(listed == present, "after collection the index lists exactly the names that exist")
        for object in try await clients[0].pool.objectNames() {
            switch RadosLayout.kind(of: object) {
            case .index(let id): #expect(["a-race", "a-race/c-one"].contains(id))
            case .head(let id, let name): #expect(id == container.id && listed.contains(name), "head \(object) not in the index")
            case .stripe(let head, let upload):
                #expect(try await clients[0].currentHead(head)?.record.upload == upload, "stripe \(object) referenced by no head")
            case .foreign: Issue.record("unexpected object \(object)")
            }
        }
    }

    /// A put as the store makes it of a name it put before: blind
    /// (`PutHint.blind`), and when that is refused (the head is not
    /// marked, is striped or is gone) the usual put.
    /// True when the blind put did it.
    @discardableResult
    static func putBlindFirst(_ backend: RadosBackend, _ name: BackendName, _ bytes: [UInt8]) async throws -> Bool {
        if bytes.count <= backend.singleObjectLimit {
            do {
                try await put(backend, name, bytes, hint: .blind, blindReplaceable: true)
                return true
            } catch let error as StorageError where error.code == .conditionFailed {}
        }
        try await put(backend, name, bytes, hint: .unknown, blindReplaceable: true)
        return false
    }

    static func put(_ backend: RadosBackend, _ name: BackendName, _ bytes: [UInt8], hint: PutHint, blindReplaceable: Bool) async throws {
        let upload = try await backend.beginPut(name, condition: .none, hint: hint, blindReplaceable: blindReplaceable)
        do {
            try await upload.append(bytes)
            try await upload.commit()
        } catch {
            await upload.abort()
            throw error
        }
    }

    /// Writer and sequence in the first 8 bytes, then bytes derived from
    /// them (1 KiB to ~300 KiB: unstriped and striped at 64 KiB; odd
    /// sequences below 61 KiB).
    static func payload(writer: Int, sequence: Int) -> [UInt8] {
        // Odd sequences (the marked puts of the race, blind first or not) stay unstriped.
        let size = 1000 + (writer * 7_919 + sequence * 104_729) % (sequence % 2 == 1 ? 60_000 : 300_000)
        let header = [UInt32(writer), UInt32(sequence)].flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
        return header + Fixtures.data(size, seed: UInt8(truncatingIfNeeded: writer &* 31 &+ sequence))
    }

    static func isWhole(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 8 else { return false }
        func field(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << ($1 * 8) } }
        return bytes == payload(writer: field(0), sequence: field(4))
    }
}
