import AtRestStorage
import Testing

/// What every backend's record maps must do, written once over the
/// interface. Each body gets two connections to the same storage (two
/// `LocalBackend`s on one directory, two RADOS clients on one pool
/// namespace), as two workers would have.
enum RecordMapContract {
    static let map = try! RecordMapName(try! BackendContainer("a-contract"), "q-one")

    static func value(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Create, exists, delete, gone for every verb, create again empty.
    static func lifecycle(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        await BackendContract.expectError(.notFound) { try await one.records(map, after: nil, limit: 10) }
        try await one.createRecordMap(map)
        await BackendContract.expectError(.alreadyExists) { try await two.createRecordMap(map) }
        #expect(try await two.records(map, after: nil, limit: 10) == RecordPage(records: [], more: false))
        try await two.apply(RecordBatch(sets: ["k1": value("v1")]), to: map)
        #expect(try await one.records(map, keys: ["k1"]) == ["k1": value("v1")])
        try await one.deleteRecordMap(map)
        await BackendContract.expectError(.notFound) { try await two.deleteRecordMap(map) }
        await BackendContract.expectError(.notFound) { try await two.records(map, after: nil, limit: 10) }
        await BackendContract.expectError(.notFound) { try await two.records(map, keys: ["k1"]) }
        await BackendContract.expectError(.notFound) { try await two.apply(RecordBatch(sets: ["k2": value("v2")]), to: map) }
        try await two.createRecordMap(map)
        #expect(try await one.records(map, after: nil, limit: 10) == RecordPage(records: [], more: false))
        // Another map in the same container is another map.
        let other = try RecordMapName(map.container, "q-two")
        await BackendContract.expectError(.notFound) { try await one.records(other, keys: ["k1"]) }
    }

    /// A change count is the same again only while nothing was committed to the map, by either connection; a
    /// backend may not count (nil), and then never does.
    static func changeCounts(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        try await one.createRecordMap(map)
        guard let first = try await one.recordMapChangeCount(map) else {
            try await two.apply(RecordBatch(sets: ["k1": value("v1")]), to: map)
            #expect(try await one.recordMapChangeCount(map) == nil)
            return
        }
        await BackendContract.expectError(.notFound) { _ = try await one.recordMapChangeCount(try RecordMapName(map.container, "q-none")) }
        // Reads commit nothing.
        _ = try await one.records(map, after: nil, limit: 10)
        _ = try await two.records(map, keys: ["k1"])
        #expect(try await one.recordMapChangeCount(map) == first)
        var seen: Set<UInt64> = [first]
        for (round, writer) in [one, two, two, one].enumerated() {
            try await writer.apply(RecordBatch(sets: ["k\(round)": value("v")]), to: map)
            let now = try #require(try await one.recordMapChangeCount(map))
            #expect(seen.insert(now).inserted, "round \(round): count \(now) again after a commit")
            #expect(try await one.recordMapChangeCount(map) == now)
        }
        // Concurrent readers (more connections than one) never hide a commit either.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 { group.addTask { _ = try await one.records(map, keys: ["k\(i % 4)"]) } }
            try await group.waitForAll()
        }
        let before = try #require(try await one.recordMapChangeCount(map))
        try await two.apply(RecordBatch(removes: ["k0"]), to: map)
        let counts = try await withThrowingTaskGroup(of: UInt64?.self) { group in
            for _ in 0..<8 { group.addTask { try await one.recordMapChangeCount(map) } }
            return try await group.reduce(into: [UInt64?]()) { $0.append($1) }
        }
        #expect(counts.allSatisfy { $0 != nil && $0 != before })
    }

    /// Sets, removes and conditions; pages in byte order with `after` and `more`.
    static func batchesAndPages(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        try await one.createRecordMap(map)
        let keys = (0..<25).map { "m-\(String($0 * 7 % 25 + 100))" } + ["A", "Z-", "a~", "m-099"]
        var sets: [String: [UInt8]] = [:]
        for key in keys { sets[key] = value("value of \(key)") + [0, 255] }
        try await one.apply(RecordBatch(sets: sets), to: map)
        var seen: [Record] = []
        var after: String?
        while true {
            let page = try await two.records(map, after: after, limit: 7)
            seen += page.records
            #expect(page.records.count == 7 || !page.more)
            guard page.more else { break }
            after = page.records.last?.key
        }
        #expect(seen.map(\.key) == keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(seen.allSatisfy { sets[$0.key] == $0.value })
        #expect(try await two.records(map, after: "m-110", limit: 2).records.map(\.key) == ["m-111", "m-112"])
        #expect(try await one.records(map, keys: ["A", "nothing", "a~"]) == ["A": sets["A"]!, "a~": sets["a~"]!])
        // Keys alone (`recordKeys`): the same order, pages and `more` as the records.
        var keysSeen: [String] = [], keysAfter: String?
        while true {
            let page = try await one.recordKeys(map, after: keysAfter, limit: 7)
            keysSeen += page.keys
            #expect(page.keys.count == 7 || !page.more)
            guard page.more else { break }
            keysAfter = page.keys.last
        }
        #expect(keysSeen == seen.map(\.key))
        #expect(try await two.recordKeys(map, after: "m-110", limit: 2) == (["m-111", "m-112"], true))
        #expect(try await two.recordKeys(map, after: "m-", limit: 1000).keys == seen.map(\.key).filter { $0 > "m-" })
        await BackendContract.expectError(.invalidArgument) { try await one.recordKeys(map, after: nil, limit: 1001) }
        await BackendContract.expectError(.notFound) { try await one.recordKeys(try RecordMapName(map.container, "q-none"), after: nil, limit: 10) }

        // A failed condition changes nothing, whichever condition fails.
        let before = try await one.records(map, after: nil, limit: 1000)
        for conditions: [RecordCondition] in [[.absent("A")], [.equals("A", value("other"))], [.equals("absent", value("x"))],
                                               [.absent("new"), .equals("Z-", value("no"))]] {
            await BackendContract.expectError(.conditionFailed) {
                try await two.apply(RecordBatch(conditions: conditions, sets: ["new": value("n"), "A": value("changed")], removes: ["Z-"]), to: map)
            }
        }
        #expect(try await one.records(map, after: nil, limit: 1000) == before)
        // All conditions hold: every change is made.
        try await two.apply(RecordBatch(conditions: [.absent("new"), .equals("A", sets["A"]!)],
                                        sets: ["new": value("n"), "A": value("changed")], removes: ["Z-", "never-there"]), to: map)
        #expect(try await one.records(map, keys: ["new", "A", "Z-"]) == ["new": value("n"), "A": value("changed")])

        // Bad batches are refused before anything is written.
        for bad in [RecordBatch(), RecordBatch(sets: ["k": []]), RecordBatch(sets: ["k": value("x")], removes: ["k"]),
                    RecordBatch(sets: ["bad key": value("x")]), RecordBatch(sets: ["": value("x")]),
                    RecordBatch(conditions: [.equals("k", [])], sets: ["k": value("x")]),
                    RecordBatch(sets: ["k": [UInt8](repeating: 1, count: RecordBatch.maxValueLength + 1)])] {
            await BackendContract.expectError(.invalidArgument) { try await one.apply(bad, to: map) }
        }
        await BackendContract.expectError(.invalidArgument) { try await one.records(map, after: nil, limit: 0) }
        // The largest value round-trips.
        let large = Fixtures.data(RecordBatch.maxValueLength, seed: 3)
        try await one.apply(RecordBatch(sets: ["large": large]), to: map)
        #expect(try await two.records(map, keys: ["large"])["large"] == large)
    }

    /// Writers on two connections race conditional batches on the same
    /// keys, round after round: exactly one wins each round, and only the
    /// winner's changes are there.
    static func racingBatches(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        try await one.createRecordMap(map)
        try await one.apply(RecordBatch(sets: ["head": value("round-0")]), to: map)
        for round in 0..<20 {
            let expected = value("round-\(round)")
            let results = await withTaskGroup(of: (Int, Result<Void, any Error>).self) { group in
                for writer in 0..<6 {
                    let backend = writer % 2 == 0 ? one : two
                    group.addTask {
                        // Claim: move "head" on, only while it is what this round saw, and leave a claim record.
                        let batch = RecordBatch(conditions: [.equals("head", expected), .absent("claim-\(round)")],
                                                sets: ["head": value("round-\(round + 1)"), "claim-\(round)": value("writer-\(writer)")])
                        return (writer, await Result { try await backend.apply(batch, to: map) })
                    }
                }
                var out: [(Int, Result<Void, any Error>)] = []
                for await result in group { out.append(result) }
                return out
            }
            var winners: [Int] = []
            for (writer, result) in results {
                switch result {
                case .success: winners.append(writer)
                case .failure(let error as StorageError) where error.code == .conditionFailed: continue
                case .failure(let error): throw error
                }
            }
            try #require(winners.count == 1, "round \(round): winners \(winners)")
            let stored = try await two.records(map, keys: ["head", "claim-\(round)"])
            #expect(stored == ["head": value("round-\(round + 1)"), "claim-\(round)": value("writer-\(winners[0])")])
        }
        #expect(try await one.records(map, after: nil, limit: 100).records.count == 21)
    }
}

/// A fresh, empty storage for one record map contract body, as two connections.
struct RecordMapFactory: Sendable, CustomStringConvertible {
    var description: String
    var make: @Sendable () async throws -> (one: any StorageBackend, two: any StorageBackend, cleanup: @Sendable () -> Void)

    static let local = RecordMapFactory(description: "local") {
        let directory = TempDirectory()
        return (try LocalBackend(directory: directory.path), try LocalBackend(directory: directory.path), { directory.remove() })
    }

    /// Runs the body named `name` of `bodies` on fresh storage.
    func run(_ name: String, of bodies: [(String, @Sendable (any StorageBackend, any StorageBackend) async throws -> Void)]) async throws {
        let (one, two, cleanup) = try await make()
        defer { cleanup() }
        let started = ContinuousClock.now
        try await bodies.first { $0.0 == name }!.1(one, two)
        print("contract body \(name) on \(description) took \(ContinuousClock.now - started)")  // where the suite's time goes (never asserted)
    }
}

/// The record map contract against the local backend (`RadosBackendTests` runs the same bodies on RADOS).
@Suite struct RecordMapContractTests {
    static let bodies: [(String, @Sendable (any StorageBackend, any StorageBackend) async throws -> Void)] = [
        ("lifecycle", RecordMapContract.lifecycle),
        ("batchesAndPages", RecordMapContract.batchesAndPages),
        ("racingBatches", RecordMapContract.racingBatches),
        ("changeCounts", RecordMapContract.changeCounts),
    ]

    @Test(arguments: bodies.map(\.0))
    func contract(_ body: String) async throws {
        try await RecordMapFactory.local.run(body, of: Self.bodies)
    }
}
