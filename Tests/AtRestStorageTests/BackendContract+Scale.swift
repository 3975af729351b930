import AtRestStorage
import Testing

/// Contract bodies for what the RADOS backend adds (striping, big indexes,
/// child containers, pinned versions); every backend must pass them.
extension BackendContract {
    static let mebibyte = 1 << 20

    /// Objects above 4 MiB (striped by `rados`): whole and range reads,
    /// across stripe boundaries, fed by appends of odd sizes; one of exactly
    /// 4 MiB; a striped object replaced by a small one and back.
    static func largeObjectsAndRanges(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let bytes = Fixtures.data(9 * mebibyte + 123, seed: 21)
        let name = try name("o-large")
        let upload = try await backend.beginPut(name, condition: .mustNotExist)
        var offset = 0
        for chunk in [1, 700_001, 3 * mebibyte, 5 * mebibyte, bytes.count] where offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try await upload.append(Array(bytes[offset..<end]))
            offset = end
        }
        let version = try await upload.commit()
        #expect(try await backend.stat(name) == BackendObjectInfo(size: UInt64(bytes.count), version: version))
        #expect(same(try await backend.get(name).bytes, bytes))
        let four = UInt64(4 * mebibyte)
        for range in [four - 10..<four + 10, 0..<1, 3 * four / 4..<9 * four / 4, UInt64(bytes.count - 1)..<UInt64(bytes.count), four..<2 * four] {
            #expect(same(try await backend.get(name, range: range).bytes, Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)])), "\(range)")
        }
        let exact = Fixtures.data(4 * mebibyte, seed: 22)
        try await backend.put(try Self.name("o-exact"), exact)
        #expect(same(try await backend.get(try Self.name("o-exact")).bytes, exact))
        try await backend.put(name, [1, 2, 3], condition: .mustMatch(version))
        #expect(try await backend.get(name).bytes == [1, 2, 3])
        try await backend.put(name, bytes)
        #expect(same(try await backend.get(name, range: four - 1..<four + 1).bytes, Array(bytes[Int(four) - 1...Int(four)])))
        try await backend.delete(name, condition: .none)
        await expectError(.notFound) { try await backend.stat(name) }
    }

    /// 2500 names list in pages of 1000 (and a prefix of them), complete,
    /// ascending, no repeats.
    static func listManyNames(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        let names = (0..<2500).map { "o-\(String($0 * 7_919 % 10_007, radix: 16))" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, object) in names.enumerated() {
                if index >= 16 { try await group.next() }
                group.addTask { try await backend.put(try name(object), [UInt8(truncatingIfNeeded: index)]) }
            }
            try await group.waitForAll()
        }
        var seen: [String] = [], continuation: String?, pages = 0
        repeat {
            let page = try await backend.list(container, prefix: "o-", continuation: continuation, limit: 1000)
            seen += page.names
            continuation = page.continuation
            pages += 1
        } while continuation != nil && pages < 10
        #expect(pages == 3)
        #expect(seen == names.sorted(), "\(seen.count) names listed of \(names.count)")
        let prefixed = names.filter { $0.hasPrefix("o-1") }.sorted()
        #expect(try await backend.list(container, prefix: "o-1", continuation: nil, limit: 5000).names == prefixed)
        let after = prefixed[prefixed.count / 2]
        #expect(try await backend.list(container, prefix: "o-1", continuation: after, limit: 5000).names == Array(prefixed[(prefixed.count / 2 + 1)...]))
    }

    /// A container's list shows its child containers (the store lists an
    /// account's containers this way); a deleted child leaves it.
    static func childContainersInList(_ backend: any StorageBackend) async throws {
        let account = try BackendContainer("a-kids")
        for child in ["c-2", "c-1", "c-3"] { try await backend.createContainer(try BackendContainer("a-kids/\(child)")) }
        #expect(try await backend.list(account, prefix: "c-", continuation: nil, limit: 10).names == ["c-1", "c-2", "c-3"])
        #expect(try await backend.list(account, prefix: "c-", continuation: nil, limit: 2) == BackendListPage(names: ["c-1", "c-2"], continuation: "c-2"))
        try await backend.deleteContainer(try BackendContainer("a-kids/c-2"))
        #expect(try await backend.list(account, prefix: "c-", continuation: nil, limit: 10).names == ["c-1", "c-3"])
        await expectError(.alreadyExists) { try await backend.createContainer(account) }
        await expectError(.invalidArgument) { try await backend.deleteContainer(account) }
        try await backend.put(try name("o-1", in: try BackendContainer("a-kids/c-1")), [1])
        await expectError(.invalidArgument) { try await backend.deleteContainer(try BackendContainer("a-kids/c-1")) }
    }

    /// An opened version (small or striped) reads as itself or fails with
    /// `.conditionFailed` after a replace or a delete; never a mix.
    static func openedVersionsArePinned(_ backend: any StorageBackend) async throws {
        try await backend.createContainer(container)
        for (object, size) in [("o-small", 100_000), ("o-striped", 9 * mebibyte)] {
            let name = try name(object)
            let (old, new) = (Fixtures.data(size, seed: 31), Fixtures.data(size, seed: 32))
            try await backend.put(name, old)
            let opened = try await backend.open(name)
            try await backend.put(name, new)
            try await expectOldOrConditionFailed(opened, old)
            let current = try await backend.open(name)
            try await backend.delete(name, condition: .none)
            try await expectOldOrConditionFailed(current, new)
        }
    }

    static func expectOldOrConditionFailed(_ object: any BackendObject, _ bytes: [UInt8],
                                           sourceLocation: SourceLocation = #_sourceLocation) async throws {
        do {
            #expect(same(try await object.read(at: 0, count: bytes.count), bytes), sourceLocation: sourceLocation)
        } catch let error as StorageError {
            #expect(error.code == .conditionFailed, "\(error)", sourceLocation: sourceLocation)
        }
    }
}
