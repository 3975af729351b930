import Testing
@testable import AtRestStorage

/// `FileCommits`: puts committed on the store's own threads, many at once.
@Suite(.serialized) struct FileCommitsTests {
    /// 64 concurrent small puts of new names and 16 concurrent puts that all
    /// require the same name to be absent: every new name reads back its own
    /// bytes, exactly one conditional put wins (the others fail cleanly),
    /// and replacing puts leave one of them whole.
    @Test func concurrentPutsAllLandAndConditionsHold() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let backend = try LocalBackend(directory: dir.path)
        let container = try BackendContainer("a-x/c-y")
        try await backend.createContainer(try BackendContainer("a-x"))
        try await backend.createContainer(container)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 {
                group.addTask { _ = try await backend.put(try BackendName(container, "o-\(i)"), [UInt8](repeating: UInt8(i), count: 4096)) }
            }
            try await group.waitForAll()
        }
        for i in 0..<64 {
            #expect(try await backend.get(try BackendName(container, "o-\(i)")).bytes == [UInt8](repeating: UInt8(i), count: 4096))
        }

        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    do {
                        _ = try await backend.put(try BackendName(container, "only"), [UInt8(i)], condition: .mustNotExist)
                        return true
                    } catch let error as StorageError where error.code == .conditionFailed {
                        return false
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)

        // Replacing puts of one name (exchange, spares): the name holds one of them whole.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<16 {
                group.addTask { _ = try await backend.put(try BackendName(container, "o-0"), [UInt8](repeating: UInt8(100 + i), count: 8192)) }
            }
            try await group.waitForAll()
        }
        let last = try await backend.get(try BackendName(container, "o-0")).bytes
        #expect(last.count == 8192 && Set(last).count == 1 && (100..<116).contains(Int(last[0])))

        // The old way (commits on the dispatch queue) still works the same.
        LocalBackend.commitThreads = 0
        defer { LocalBackend.commitThreads = 16 }
        _ = try await backend.put(try BackendName(container, "o-old"), [7, 7])
        #expect(try await backend.get(try BackendName(container, "o-old")).bytes == [7, 7])
    }
}
