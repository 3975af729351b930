import AtRestClient
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// `atrest-recover` on file shares: a share with nested directories (Unicode
/// names), inline, multi-chunk, sparse and empty files and set modes,
/// written through the running services (`FileClient`), every service
/// stopped, then listed, verified and extracted; `diff -r` against a tree
/// built here is empty and the modes are as set. One chunk of one file
/// tampered on disk: that file is reported damaged and not extracted
/// (exit 3), every other file still is. `--share` exports one share alone.
@Suite(.serialized) struct RecoverToolFilesTests {
    static let account = "acct-m", share = "home-share-quokka", other = "other-share-wombat"
    static let unicode = "docs/Ünïcode 日本"

    /// Path → (content, mode) of the files written; directories with their modes.
    struct Tree {
        var files: [String: (data: [UInt8], mode: UInt32)] = [:]
        var directories: [String: UInt32] = [:]
    }

    static func fill(_ fixture: RecoveryFixture) async throws -> Tree {
        let cluster = fixture.cluster
        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        let files = FileClient(ServiceClient(rpc: cluster.client, token: token), account: account)
        _ = try await files.createShare(share, quota: 1 << 30)
        _ = try await files.createShare(other, quota: 1 << 20)
        var tree = Tree()
        for (path, mode) in [("docs", 0o755), (unicode, 0o700), (unicode + "/deep", 0o750), ("empty-dir", 0o755)] as [(String, UInt32)] {
            _ = try await files.createDirectory(share, path, mode: mode)
            tree.directories[path] = mode
        }
        func put(_ path: String, _ data: [UInt8], mode: UInt32 = 0o644) async throws {
            if data.isEmpty {
                try await files.createFile(share, path)
            } else {
                _ = try await files.createFile(share, path, data: data)
            }
            if mode != 0o644 { _ = try await files.setMode(share, path, mode: mode) }
            tree.files[path] = (data, mode)
        }
        try await put("top.txt", Array("inline: kept in the inode record\n".utf8))                  // inline
        try await put("empty.txt", [])                                                                // inline, empty
        try await put("docs/report.bin", RecoveryFixture.content(300_000, seed: 21), mode: 0o600)     // 5 chunks
        try await put(unicode + "/deep/big.bin", RecoveryFixture.content(3 * 65536 + 17, seed: 22))  // 4 chunks
        try await put(unicode + "/mid.bin", RecoveryFixture.content(70_000, seed: 23), mode: 0o755)  // 2 chunks
        // Sparse: 1 MiB created empty, one write inside it (1 chunk stored).
        try await files.createFile(share, "docs/sparse.bin", size: 1 << 20)
        let marker = RecoveryFixture.content(1000, seed: 24)
        try await files.writeFile(share, "docs/sparse.bin", offset: 700_000, data: marker)
        var sparse = [UInt8](repeating: 0, count: 1 << 20)
        sparse.replaceSubrange(700_000 ..< 701_000, with: marker)
        tree.files["docs/sparse.bin"] = (sparse, 0o644)
        _ = try await files.createFile(other, "alone.txt", data: Array("the other share".utf8))
        return tree
    }

    /// The tree as files under `root`, to `diff -r` the export with.
    static func reference(_ tree: Tree, at root: String, leaving: String? = nil) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        for path in tree.directories.keys { try fm.createDirectory(atPath: "\(root)/\(path)", withIntermediateDirectories: true) }
        for (path, file) in tree.files where path != leaving {
            try #require(fm.createFile(atPath: "\(root)/\(path)", contents: Data(file.data)))
        }
    }

    static func mode(_ path: String) -> UInt32? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt32(info.st_mode) & 0o7777 : nil
    }

    @Test func sharesListedVerifiedExtractedAndDamageReported() async throws {
        let fixture = try await RecoveryFixture.start(tag: "recover-files")
        defer { fixture.remove() }
        let tree = try await Self.fill(fixture)
        fixture.stop()
        let work = try fixture.workDirectory()
        let before = try DataSnapshot(fixture.dataDirectories)
        func recover(_ extra: [String]) async throws -> ClientTools.Output { try await fixture.recover(extra, in: work, timeout: .seconds(300)) }
        let a = Self.account, s = "\(Self.account)/\(Self.share)"
        let rootKeys = try fixture.rootKeys()

        // List: both shares, every directory and file by its name (opened from the sealed entries), sizes and modes.
        let listed = try await recover(["--account", a])
        #expect(listed.status == 0, "\(listed.transcript)")
        #expect(listed.lines.contains { $0.hasPrefix("share \(s) quota=\(1 << 30) ") && $0.hasSuffix(" files=6 directories=4") }, "\(listed.transcript)")
        #expect(listed.lines.contains { $0.hasPrefix("share \(a)/\(Self.other) ") }, "\(listed.transcript)")
        #expect(listed.lines.contains("directory \(s)/\(Self.unicode) mode=0700"), "\(listed.transcript)")
        #expect(listed.lines.contains("file \(s)/\(Self.unicode)/deep/big.bin size=\(3 * 65536 + 17) mode=0644"), "\(listed.transcript)")
        #expect(listed.lines.contains("file \(s)/docs/report.bin size=300000 mode=0600"), "\(listed.transcript)")
        #expect(listed.fields("summary")?["shares"] == "2" && listed.fields("summary")?["files"] == "7"
                && listed.fields("summary")?["directories"] == "4", "\(listed.transcript)")

        // Verify: every chunk of every file opened.
        let verified = try await recover(["--account", a, "--verify"])
        #expect(verified.status == 0, "\(verified.transcript)")
        #expect(verified.lines.contains("good file \(s)/docs/report.bin size=300000 chunks=5 bytes=300000"), "\(verified.transcript)")
        #expect(verified.lines.contains("good file \(s)/docs/sparse.bin size=\(1 << 20) chunks=1 bytes=65536"), "\(verified.transcript)")
        #expect(verified.lines.filter { $0.hasPrefix("good file ") }.count == 7, "\(verified.transcript)")

        // Extract: the tree equals the reference, modes as set, the sparse file sparse.
        let extracted = try await recover(["--extract", work + "/out"])
        #expect(extracted.status == 0, "\(extracted.transcript)")
        let out = "\(work)/out/\(a)/.files/\(Self.share)"
        try Self.reference(tree, at: work + "/reference")
        let diff = try await ClientTools.run("/usr/bin/diff", ["-r", work + "/reference", out], in: work)
        #expect(diff.status == 0 && diff.stdout.isEmpty, "\(diff.transcript)")
        for (path, file) in tree.files { #expect(Self.mode("\(out)/\(path)") == file.mode, "\(path)") }
        for (path, mode) in tree.directories { #expect(Self.mode("\(out)/\(path)") == mode, "\(path)") }
        var info = stat()
        #expect(stat("\(out)/docs/sparse.bin", &info) == 0 && info.st_blocks * 512 < 512 << 10, "\(info.st_blocks) blocks: not sparse")
        #expect(FileManager.default.contents(atPath: "\(work)/out/\(a)/.files/\(Self.other)/alone.txt") == Data("the other share".utf8))
        for run in [listed, verified, extracted] {
            for key in rootKeys { #expect(!run.stdout.contains(key) && !run.stderr.contains(key)) }
        }
        let after = try DataSnapshot(fixture.dataDirectories)
        #expect(after == before, "changed: \(after.changes(since: before))")

        // One share alone: nothing else of the account.
        let alone = try await recover(["--account", a, "--share", Self.other, "--extract", work + "/alone"])
        #expect(alone.status == 0, "\(alone.transcript)")
        let exported = try FileManager.default.contentsOfDirectory(atPath: "\(work)/alone/\(a)")
        let shares = try FileManager.default.contentsOfDirectory(atPath: "\(work)/alone/\(a)/.files")
        #expect(exported == [".files"] && shares == [Self.other], "\(exported) \(shares)")
        #expect(alone.fields("summary")?["shares"] == "1" && alone.fields("summary")?["objects"] == "0", "\(alone.transcript)")

        // One chunk of report.bin (the only file of 5 chunks) tampered: reported, not extracted, the rest is.
        let maps = try DataSnapshot.files(under: fixture.objectsDirectory + "/.records").filter {
            ($0 as NSString).lastPathComponent.hasPrefix("fc-") && $0.hasSuffix("-0000.sqlite")
        }
        #expect(maps.count == 4, "\(maps)")
        var tampered: String?
        for map in maps {
            // Chunk records only (4 references into report.bin's extent and its last chunk), not the extent's marker (`x-…`).
            let count = try await ClientTools.run("/usr/bin/sqlite3", [map, "SELECT count(*) FROM records WHERE key NOT LIKE 'x-%';"], in: work)
            if count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5" { tampered = map }
        }
        // Its last chunk (the only sealed chunk record: the first four are references to an extent, FORMAT.md "Extents").
        let flip = "UPDATE records SET value = CAST(substr(value, 1, 60) || (CASE WHEN substr(value, 61, 1) = X'00' THEN X'01' ELSE X'00' END)"
            + " || substr(value, 62) AS BLOB) WHERE key = (SELECT max(key) FROM records WHERE key NOT LIKE 'x-%');"
        let flipped = try await ClientTools.run("/usr/bin/sqlite3", [try #require(tampered), flip], in: work)
        try #require(flipped.status == 0, "\(flipped.transcript)")
        let damaged = try await recover(["--account", a, "--extract", work + "/out2"])
        #expect(damaged.status == 3, "\(damaged.transcript)")
        let chunkLines = damaged.lines.filter { $0.hasPrefix("damaged chunk \(s)/docs/report.bin/0000/") }
        #expect(chunkLines.count == 1 && chunkLines[0].contains("does not authenticate"), "\(damaged.transcript)")
        #expect(damaged.lines.contains("damaged file \(s)/docs/report.bin: 1 of its chunks do not open (not extracted)"), "\(damaged.transcript)")
        #expect(damaged.fields("summary")?["damaged"] == "1" && damaged.fields("summary")?["files"] == "7", "\(damaged.transcript)")
        let out2 = "\(work)/out2/\(a)/.files/\(Self.share)"
        #expect(!FileManager.default.fileExists(atPath: "\(out2)/docs/report.bin"))
        try Self.reference(tree, at: work + "/reference2", leaving: "docs/report.bin")
        let diff2 = try await ClientTools.run("/usr/bin/diff", ["-r", work + "/reference2", out2], in: work)
        #expect(diff2.status == 0 && diff2.stdout.isEmpty, "\(diff2.transcript)")
    }
}
