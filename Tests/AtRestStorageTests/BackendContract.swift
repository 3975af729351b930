import AtRestStorage
import Testing

/// What every `StorageBackend` must do, written once over the interface:
/// `BackendContractTests` runs each body against every backend in
/// `BackendFactory.all` (today `local`; the RADOS backend adds itself
/// there and runs the same bodies).
enum BackendContract {
    static let container = try! BackendContainer("a-contract/c-one")

    static func name(_ object: String, in container: BackendContainer = container) throws -> BackendName {
        try BackendName(container, object)
    }

    /// `body` fails with `code` (and a message containing `text`, when given).
    static func expectError<T>(_ code: StorageError.Code, _ text: String? = nil, _ body: () async throws -> T,
                               sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            _ = try await body()
            Issue.record("expected \(code), the call succeeded", sourceLocation: sourceLocation)
        } catch let error as StorageError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            if let text { #expect(error.message.contains(text), "\(error)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Put, stat, whole and range reads, and the errors for what is not there.
    static func roundTripAndRanges(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let bytes = Fixtures.data(300_000)
        let name = try name("o-round")
        let version = try await backend.put(name, bytes)
        let info = try await backend.stat(name)
        #expect(info == BackendObjectInfo(size: UInt64(bytes.count), version: version))
        let whole = try await backend.get(name)
        #expect(same(whole.bytes, bytes))
        #expect(whole.version == version)
        #expect(same(try await backend.get(name, range: 1000..<70_000).bytes, Array(bytes[1000..<70_000])))
        #expect(same(try await backend.get(name, range: 299_999..<300_000).bytes, [bytes[299_999]]))
        #expect(same(try await backend.get(name, range: 5..<5).bytes, []))
        await expectError(.invalidArgument) { try await backend.get(name, range: 299_000..<300_001) }
        await expectError(.notFound) { try await backend.get(try Self.name("o-absent")) }
        await expectError(.notFound) { try await backend.stat(try Self.name("o-absent")) }
        let nowhere = try BackendContainer("a-contract/c-absent")
        await expectError(.containerNotFound) { try await backend.put(try Self.name("o-x", in: nowhere), [1]) }
        // An empty object is an object.
        try await backend.put(try Self.name("o-empty"), [])
        #expect(try await backend.stat(try Self.name("o-empty")).size == 0)
        #expect(same(try await backend.get(try Self.name("o-empty")).bytes, []))
    }

    /// Sealed buffers and byte arrays appended in any mix read back as
    /// everything appended, in order: a buffer alone (which RADOS holds
    /// until commit instead of copying it), one followed by more, and
    /// buffers past the single-object limit (striped on RADOS).
    static func sealedBuffersAndMixedAppends(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        enum Part { case buffer([UInt8]), bytes([UInt8]) }
        let small = Fixtures.data(70_000, seed: 1), other = Fixtures.data(3_000, seed: 2), large = Fixtures.data(5_000_000, seed: 3)
        let cases: [[Part]] = [[.buffer(small)], [.buffer(small), .bytes(other)], [.buffer(small), .buffer(other)],
                               [.bytes(other), .buffer(small)], [.buffer(large)], [.buffer(small), .buffer(large), .bytes(other)],
                               [.buffer([])]]
        for (k, parts) in cases.enumerated() {
            let name = try name("o-mixed-\(k)")
            let upload = try await backend.beginPut(name, condition: .none)
            var expected: [UInt8] = []
            for part in parts {
                switch part {
                case .buffer(let bytes): try await upload.append(AlignedBuffer(bytes)); expected += bytes
                case .bytes(let bytes): try await upload.append(bytes); expected += bytes
                }
            }
            let version = try await upload.commit()
            let got = try await backend.get(name)
            #expect(same(got.bytes, expected), "case \(k)")
            let size = try await backend.stat(name).size
            #expect(got.version == version && size == UInt64(expected.count), "case \(k)")
        }
    }

    /// Eight writers create one name at once: exactly one wins, the others
    /// get `.conditionFailed`, and the object is the winner's bytes, whole.
    static func exclusiveCreateRace(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let name = try name("o-create")
        let results = await race(writers: 8) { writer in
            try await backend.put(name, payload(writer), condition: .mustNotExist)
        }
        let winners = try winners(results)
        try #require(winners.count == 1)
        let stored = try await backend.get(name)
        #expect(same(stored.bytes, payload(winners[0].writer)))
        #expect(stored.version == winners[0].version)
    }

    /// Eight writers replace version v0 at once: one wins, the rest fail,
    /// and a stale version keeps failing afterwards.
    static func compareAndSwapRace(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let name = try name("o-cas")
        let v0 = try await backend.put(name, Fixtures.data(1000, seed: 99))
        let results = await race(writers: 8) { writer in
            try await backend.put(name, payload(writer), condition: .mustMatch(v0))
        }
        let winners = try winners(results)
        try #require(winners.count == 1)
        let stored = try await backend.get(name)
        #expect(same(stored.bytes, payload(winners[0].writer)))
        #expect(stored.version == winners[0].version && stored.version != v0)
        await expectError(.conditionFailed) { try await backend.put(name, [1, 2, 3], condition: .mustMatch(v0)) }
        await expectError(.conditionFailed) { try await backend.put(name, [1, 2, 3], condition: .mustNotExist) }
        await expectError(.conditionFailed) { try await backend.put(try Self.name("o-never"), [1], condition: .mustMatch(v0)) }
        #expect(same(try await backend.get(name).bytes, payload(winners[0].writer)))
        let next = try await backend.put(name, [4, 5], condition: .mustMatch(stored.version))
        let last = try await backend.get(name)
        #expect(last.bytes == [4, 5] && last.version == next)
    }

    /// Unconditional writers racing: the object is one of them, whole.
    static func lastWriterWinsWhole(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let name = try name("o-lww")
        let results = await race(writers: 6) { writer in try await backend.put(name, payload(writer)) }
        #expect(try winners(results).count == 6)
        let stored = try await backend.get(name).bytes
        #expect((0..<6).contains { stored == payload($0) })
    }

    /// A stale delete changes nothing; a current one removes the object.
    static func conditionalDelete(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let name = try name("o-del")
        let v1 = try await backend.put(name, [1])
        let v2 = try await backend.put(name, [2])
        await expectError(.conditionFailed) { try await backend.delete(name, condition: .mustMatch(v1)) }
        #expect(same(try await backend.get(name).bytes, [2]))
        await expectError(.invalidArgument) { try await backend.delete(name, condition: .mustNotExist) }
        try await backend.delete(name, condition: .mustMatch(v2))
        await expectError(.notFound) { try await backend.stat(name) }
        await expectError(.notFound) { try await backend.delete(name, condition: .none) }
        await expectError(.notFound) { try await backend.delete(name, condition: .mustMatch(v2)) }
        try await backend.put(name, [3])
        try await backend.delete(name, condition: .none)
        #expect(try await backend.list(container, prefix: "", continuation: nil, limit: 10).names.isEmpty)
    }

    /// A reader of an opened version gets that version's bytes, or
    /// `.conditionFailed` once it is replaced; never a mix. An aborted put
    /// leaves nothing.
    static func openedVersionAndAbort(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let name = try name("o-open")
        let old = Fixtures.data(200_000, seed: 1)
        try await backend.put(name, old)
        let opened = try await backend.open(name)
        try await backend.put(name, Fixtures.data(200_000, seed: 2))
        do {
            #expect(same(try await opened.read(at: 0, count: old.count), old))
        } catch let error as StorageError {
            #expect(error.code == .conditionFailed, "\(error)")
        }
        let upload = try await backend.beginPut(try Self.name("o-aborted"), condition: .none)
        try await upload.append(Fixtures.data(10_000))
        await upload.abort()
        await expectError(.notFound) { try await backend.stat(try Self.name("o-aborted")) }
        await expectError(.invalidArgument) { try await upload.commit() }
    }

    /// Pages: sorted, prefix-filtered, complete, no repeats; the last page
    /// has no continuation.
    static func listPages(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let objects = (0..<25).map { "o-\(String($0 * 7919 % 1000, radix: 16))" }
        for object in objects { try await backend.put(try name(object), [UInt8(objects.firstIndex(of: object)!)]) }
        for staged in ["s-1", "s-2", "b-x-0"] { try await backend.put(try name(staged), [9]) }
        var seen: [String] = []
        var continuation: String?
        var pages = 0
        repeat {
            let page = try await backend.list(container, prefix: "o-", continuation: continuation, limit: 10)
            #expect(page.names.count <= 10)
            seen += page.names
            continuation = page.continuation
            pages += 1
        } while continuation != nil && pages < 10
        #expect(pages == 3)
        #expect(seen == objects.sorted())
        #expect(try await backend.list(container, prefix: "", continuation: nil, limit: 100).names == (objects + ["s-1", "s-2", "b-x-0"]).sorted())
        #expect(try await backend.list(container, prefix: "zz", continuation: nil, limit: 5) == BackendListPage(names: [], continuation: nil))
        await expectError(.invalidArgument) { try await backend.list(container, prefix: "", continuation: nil, limit: 0) }
        await expectError(.containerNotFound) {
            try await backend.list(try BackendContainer("a-contract/c-absent"), prefix: "", continuation: nil, limit: 5)
        }
    }

    /// Containers: created once, deleted only when empty.
    static func containers(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        await expectError(.alreadyExists) { try await backend.createContainer(container) }
        try await backend.put(try name("o-1"), [1])
        await expectError(.invalidArgument) { try await backend.deleteContainer(container) }
        try await backend.delete(try name("o-1"), condition: .none)
        try await backend.deleteContainer(container)
        await expectError(.containerNotFound) { try await backend.put(try name("o-1"), [1]) }
        await expectError(.containerNotFound) { try await backend.deleteContainer(container) }
        #expect(throws: StorageError.self) { try BackendName(container, ".tmp-x") }
        #expect(throws: StorageError.self) { try BackendName(container, "a/b") }
        #expect(throws: StorageError.self) { try BackendContainer("a-x/../c-y") }
    }

    // MARK: Helpers

    /// Byte equality as one Bool: a failed `#expect(a == b)` on arrays of
    /// hundreds of KiB makes the testing library diff them, which takes
    /// minutes; this reports sizes and the first difference instead.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a != b else { return true }
        let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
        Issue.record("bytes differ: \(a.count) vs \(b.count) bytes, first difference at \(first)")
        return false
    }

    /// Distinct, recognisable bytes per writer (large enough to take several writes).
    static func payload(_ writer: Int) -> [UInt8] { Fixtures.data(400_000 + writer * 4096, seed: UInt8(writer + 1)) }

    static func race(writers: Int, _ body: @escaping @Sendable (Int) async throws -> BackendVersion) async
        -> [(writer: Int, result: Result<BackendVersion, any Error>)] {
        await withTaskGroup(of: (Int, Result<BackendVersion, any Error>).self) { group in
            for writer in 0..<writers {
                group.addTask { (writer, await Result { try await body(writer) }) }
            }
            var out: [(writer: Int, result: Result<BackendVersion, any Error>)] = []
            for await (writer, result) in group { out.append((writer, result)) }
            return out
        }
    }

    /// The successful writers; every failure must be `.conditionFailed`.
    static func winners(_ results: [(writer: Int, result: Result<BackendVersion, any Error>)]) throws -> [(writer: Int, version: BackendVersion)] {
        var winners: [(writer: Int, version: BackendVersion)] = []
        for (writer, result) in results {
            switch result {
            case .success(let version): winners.append((writer, version))
            case .failure(let error as StorageError) where error.code == .conditionFailed: continue
            case .failure(let error): throw error
            }
        }
        return winners
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
