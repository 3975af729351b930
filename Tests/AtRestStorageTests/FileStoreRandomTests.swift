import AtRestCrypto
@testable import AtRestStorage
import Testing

/// Random tree and data operations against an in-memory reference tree,
/// compared after every step (the touched directory's listing with kinds
/// and sizes, the touched file's contents and one sampled file's) and in
/// full every 250 steps (every directory, every file, the usage, the tree
/// as stored).
@Suite struct FileStoreRandomTests {
    /// Names as bytes: NFC and NFD spellings are two names (Swift's String
    /// equality would make them one).
    typealias Path = [[UInt8]]

    struct Reference {
        var directories: Set<Path> = [[]]
        var files: [Path: [UInt8]] = [:]

        func exists(_ path: Path) -> Bool { directories.contains(path) || files[path] != nil }
        func children(_ directory: Path) -> [Path] {
            (Array(directories) + Array(files.keys)).filter { $0.count == directory.count + 1 && $0.starts(with: directory) }
        }
        mutating func move(_ from: Path, _ to: Path) {
            for directory in directories where directory.starts(with: from) {
                directories.remove(directory)
                directories.insert(to + directory.dropFirst(from.count))
            }
            for (path, bytes) in files where path.starts(with: from) {
                files[path] = nil
                files[to + path.dropFirst(from.count)] = bytes
            }
        }
        mutating func removeTree(_ path: Path) {
            directories = directories.filter { !$0.starts(with: path) }
            files = files.filter { !$0.key.starts(with: path) }
        }
    }

    static func string(_ path: Path) -> String { "/" + path.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/") }

    static let names: [[UInt8]] = ["a", "b", "c", "dir", "caf\u{E9}", "cafe\u{301}", "🐙", String(repeating: "n", count: 255)].map { Array($0.utf8) }
    static let maxFile = 1_200_000

    @Test func randomOperationsMatchAReferenceTree() async throws {
        let key = try Fixtures.accountKey()
        let (a, b, dir) = try FileStoreTests.stores()
        defer { dir.remove() }
        let account = FileStoreTests.account, share = "random"
        try await a.createShare(account: account, name: share, quota: 1 << 30, accountKey: key)
        var model = Reference(), rng = SplitMix(seed: 0x5EED_F11E)
        var counts: [String: Int] = [:], failures = 0

        func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[Int(rng.next() % UInt64(items.count))] }
        func number(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
        func newName() -> [UInt8] { pick(Self.names)! }
        func anyDirectory() -> Path { pick(model.directories.filter { $0.count < 4 }.sorted { $0.lexicographicallyPrecedes($1) { $0.lexicographicallyPrecedes($1) } }) ?? [] }
        func anyFile() -> Path? { pick(model.files.keys.sorted { $0.lexicographicallyPrecedes($1) { $0.lexicographicallyPrecedes($1) } }) }
        func anyNode() -> Path? {
            pick((Array(model.directories.filter { !$0.isEmpty }) + Array(model.files.keys)).sorted { $0.lexicographicallyPrecedes($1) { $0.lexicographicallyPrecedes($1) } })
        }

        /// Runs `body` with one of the two stores; the code of its error (nil on success) must be `expected`.
        func run(_ what: String, expected: StorageError.Code?, _ body: (FileStore) async throws -> Void) async {
            counts[what, default: 0] += 1
            let store = rng.next() % 2 == 0 ? a : b
            do {
                try await body(store)
                #expect(expected == nil, "\(what): expected \(expected!), the call succeeded")
            } catch let error as StorageError {
                failures += 1
                #expect(error.code == expected, "\(what): \(error)")
            } catch {
                Issue.record("\(what): \(error)")
            }
        }

        func compareDirectory(_ path: Path) async throws {
            let listed = try await FileStoreTests.entries(b, share, Self.string(path), key, limit: 3)
            var stored: [[UInt8]: FileInfo] = [:]
            for entry in listed { stored[Array(entry.name.utf8)] = entry }
            #expect(stored.count == listed.count, "a name listed twice in \(Self.string(path))")
            let expected = model.children(path)
            #expect(Set(stored.keys) == Set(expected.map { $0.last! }), "listing of \(Self.string(path))")
            for child in expected {
                let info = stored[child.last!]
                if let bytes = model.files[child] {
                    #expect(info?.kind == .file && info?.size == UInt64(bytes.count), "\(Self.string(child))")
                } else {
                    #expect(info?.kind == .directory, "\(Self.string(child))")
                }
            }
        }

        func compareFile(_ path: Path) async throws {
            guard let bytes = model.files[path] else { return }
            let stored = try await a.readFile(account: account, share: share, path: Self.string(path), offset: 0, length: 4 << 20, accountKey: key)
            #expect(stored == bytes, "contents of \(Self.string(path)) (\(stored.count) vs \(bytes.count) bytes)")
        }

        for step in 0..<2400 {
            var touched: [Path] = []
            switch rng.next() % 100 {
            case 0..<12:
                let path = anyDirectory() + [newName()]
                await run("mkdir", expected: model.exists(path) ? .alreadyExists : nil) {
                    try await $0.createDirectory(account: account, share: share, path: Self.string(path), accountKey: key)
                }
                if !model.exists(path) { model.directories.insert(path) }
                touched = [path.dropLast()]
            case 12..<27:
                let path = anyDirectory() + [newName()], size = rng.next() % 4 == 0 ? number(0...100_000) : 0
                await run("create", expected: model.exists(path) ? .alreadyExists : nil) {
                    try await $0.createFile(account: account, share: share, path: Self.string(path), size: UInt64(size), accountKey: key)
                }
                if !model.exists(path) { model.files[path] = [UInt8](repeating: 0, count: size) }
                touched = [path.dropLast(), path]
            case 27..<52:
                guard let path = anyFile() else { continue }
                var bytes = model.files[path]!
                let length = number(1...150_000), offset = number(0...min(bytes.count + 100_000, Self.maxFile - length))
                let data = Fixtures.data(length, seed: UInt8(truncatingIfNeeded: step))
                await run("write", expected: nil) {
                    try await $0.writeFile(account: account, share: share, path: Self.string(path), offset: UInt64(offset), data: data, accountKey: key)
                }
                if offset + length > bytes.count { bytes += [UInt8](repeating: 0, count: offset + length - bytes.count) }
                bytes.replaceSubrange(offset..<offset + length, with: data)
                model.files[path] = bytes
                touched = [path.dropLast(), path]
            case 52..<62:
                guard let path = anyFile() else { continue }
                let size = number(0...min(model.files[path]!.count + 150_000, Self.maxFile))
                await run("resize", expected: nil) {
                    try await $0.resizeFile(account: account, share: share, path: Self.string(path), size: UInt64(size), accountKey: key)
                }
                let old = model.files[path]!
                model.files[path] = size <= old.count ? Array(old[0..<size]) : old + [UInt8](repeating: 0, count: size - old.count)
                touched = [path.dropLast(), path]
            case 62..<77:
                guard let from = anyNode() else { continue }
                let to = anyDirectory() + [newName()], replace = rng.next() % 5 != 0
                let isDirectory = model.directories.contains(from)
                var expected: StorageError.Code?
                if from == to {
                    expected = nil
                } else if isDirectory && to.starts(with: from) {
                    expected = .invalidArgument
                } else if model.exists(to) {
                    switch (isDirectory, model.directories.contains(to)) {
                    case _ where !replace: expected = .alreadyExists
                    case (true, true): expected = model.children(to).isEmpty ? nil : .notEmpty
                    case (false, false): expected = nil
                    case (false, true): expected = .isDirectory
                    case (true, false): expected = .notDirectory
                    }
                }
                await run("rename", expected: expected) {
                    try await $0.rename(account: account, share: share, from: Self.string(from), to: Self.string(to), replace: replace, accountKey: key)
                }
                if expected == nil && from != to {
                    model.removeTree(to)
                    model.move(from, to)
                }
                touched = [from.dropLast(), to.dropLast(), to]
            case 77..<87:
                guard let path = rng.next() % 6 == 0 ? anyNode() : anyFile() else { continue }
                let isDirectory = model.directories.contains(path)
                await run("delete", expected: isDirectory ? .isDirectory : nil) {
                    try await $0.deleteFile(account: account, share: share, path: Self.string(path), accountKey: key)
                }
                if !isDirectory { model.files[path] = nil }
                touched = [path.dropLast()]
            case 87..<95:
                guard let path = anyNode(), model.directories.contains(path) else { continue }
                let recursive = rng.next() % 8 == 0
                let expected: StorageError.Code? = recursive || model.children(path).isEmpty ? nil : .notEmpty
                await run("rmdir", expected: expected) {
                    try await $0.deleteDirectory(account: account, share: share, path: Self.string(path), recursive: recursive, accountKey: key)
                }
                if expected == nil { model.removeTree(path) }
                touched = [path.dropLast()]
            default:
                guard let path = anyFile() else { continue }
                let bytes = model.files[path]!, offset = number(0...bytes.count + 10), length = number(1...200_000)
                let stored = try await b.readFile(account: account, share: share, path: Self.string(path), offset: UInt64(offset), length: length, accountKey: key)
                counts["read", default: 0] += 1
                #expect(stored == (offset < bytes.count ? Array(bytes[offset..<min(bytes.count, offset + length)]) : []), "read of \(Self.string(path))")
            }
            for path in touched {
                if model.directories.contains(path) { try await compareDirectory(path) }
                try await compareFile(path)
            }
            if let sample = anyFile() { try await compareFile(sample) }
            if step % 250 == 249 {
                for directory in model.directories { try await compareDirectory(directory) }
                for file in model.files.keys { try await compareFile(file) }
                try await FileStoreRaceTests.checkTree(a, share, key)
                let usage = try await b.shareProperties(account: account, name: share, accountKey: key)
                #expect(usage.files == UInt64(model.files.count) && usage.directories == UInt64(model.directories.count - 1))
                #expect(usage.usageBytes == UInt64(model.files.values.reduce(0) { $0 + $1.count }))
            }
        }
        #expect(counts.values.reduce(0, +) >= 2000, "\(counts)")
        #expect(counts.count == 8 && counts.values.allSatisfy { $0 >= 50 }, "\(counts)")
        #expect(failures >= 50, "too few refused calls (\(failures)) to have tested the errors")
        print("FileStoreRandomTests: \(counts.sorted { $0.key < $1.key }), \(failures) refused, \(model.directories.count) directories, \(model.files.count) files at the end")
        try await a.deleteShare(account: account, name: share, accountKey: key)
    }
}
