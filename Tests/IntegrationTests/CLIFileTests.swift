import AtRestClient
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The `atrest share` and `atrest file` verbs against the real processes
/// (through the front door only): shares with quotas, a 12 MiB random
/// file put and got back byte-exact, nested directories, a directory
/// moved with its subtree, recursive removal, the quota's clear error,
/// roles and tenants, no plaintext in the data directory; and the wire's
/// refusals of malformed file calls.
@Suite("CLI file verbs with a real cluster", .serialized)
struct CLIFileTests {
    @Test func fileVerbs() async throws {
        let users = try await CLIUsers.start(readerOf: "f-acct")
        let cluster = users.cluster
        defer { cluster.stop() }
        func atrest(_ args: [String], as user: String = "alice") async throws -> (status: Int32, out: String, err: String) {
            try await users.atrest(args, as: user)
        }
        let record = CLIUsers.record, rows = CLIUsers.rows
        func names(_ target: String, as user: String = "alice") async throws -> [String] {
            rows(try await atrest(["file", "ls", target, "--json"], as: user).out).compactMap { $0["name"] as? String }
        }
        #expect(try await atrest(["account", "create", "f-acct"]).status == 0)

        // Shares: create with a quota and metadata, the rules (exit 2), duplicates (exit 6), ls, show, quota.
        let share = "docs-share-wombat-5512", shareMeta = "share-meta-caracal-9034"
        let created = record(try await atrest(["share", "create", "f-acct/\(share)", "--quota", "64MiB", "--metadata", "owner=\(shareMeta)", "--json"]).out)
        #expect(created["quota"] as? Int == 64 << 20 && created["used"] as? Int == 0 && created["metadata"] as? String == "owner=\(shareMeta)",
                "\(created)")
        #expect(try await atrest(["share", "create", "f-acct/\(share)", "--quota", "1MiB"]).status == 6)
        #expect(try await atrest(["share", "create", "f-acct/Bad_Name", "--quota", "1MiB"]).status == 2)
        #expect(try await atrest(["share", "create", "f-acct/no-quota", "--quota", "0"]).status == 2)
        #expect(try await atrest(["share", "create", "f-acct/huge", "--quota", "6000TiB"]).status == 2)
        #expect(try await atrest(["share", "create", "small", "--quota", "100KiB", "--account", "f-acct"]).status == 0, "SHARE with --account")
        #expect(rows(try await atrest(["share", "ls", "f-acct", "--json"]).out).compactMap { $0["share"] as? String } == [share, "small"].sorted())
        let quota = record(try await atrest(["share", "quota", "f-acct/\(share)", "48MiB", "--json"]).out)
        #expect(quota["quota"] as? Int == 48 << 20, "\(quota)")

        // A 12 MiB random file (with a marker) put and got back byte-exact; the usage counts it.
        let marker = Array("plaintext-marker-quoll-2291 ".utf8)
        var content = [UInt8](repeating: 0, count: 12 << 20)
        var state: UInt64 = 0xD1B5_4A32_D192_ED03
        for index in content.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            content[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        for at in stride(from: 1000, to: content.count, by: 1 << 20) { content.replaceSubrange(at..<at + marker.count, with: marker) }
        let source = "\(cluster.root)/random.bin"
        try Data(content).write(to: URL(fileURLWithPath: source))
        let dirName = "Zeugnisse-ärger-mandrill", fileName = "bericht-emu-4410.bin"
        #expect(try await atrest(["file", "mkdir", "-p", "f-acct/\(share)/\(dirName)/deep/deeper"]).status == 0)
        let put = try await atrest(["file", "put", source, "f-acct/\(share)/\(dirName)/deep/\(fileName)", "--parallelism", "3", "--json"])
        #expect(put.status == 0 && record(put.out)["length"] as? Int == content.count, "\(put.err)")
        #expect(!put.err.contains("\r"), "no progress bar when stderr is not a terminal")
        let got = "\(cluster.root)/got.bin"
        let get = try await atrest(["file", "get", "f-acct/\(share)/\(dirName)/deep/\(fileName)", got, "--json"])
        #expect(get.status == 0 && record(get.out)["length"] as? Int == content.count, "\(get.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: got)) == Data(content), "get is byte-exact")
        let again = try await atrest(["file", "put", source, "f-acct/\(share)/\(dirName)/deep/\(fileName)"])
        #expect(again.status == 6 && again.err.contains("exists"), "a second put without --overwrite: \(again.err)")
        let tail = "\(cluster.root)/tail.bin"
        try Data(content.suffix(5000)).write(to: URL(fileURLWithPath: tail))
        #expect(try await atrest(["file", "put", tail, "f-acct/\(share)/\(dirName)/deep/\(fileName)", "--overwrite"]).status == 0)
        #expect(try await atrest(["file", "get", "f-acct/\(share)/\(dirName)/deep/\(fileName)", got]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: got)) == Data(content.suffix(5000)), "--overwrite replaces the whole file")
        #expect(try await atrest(["file", "put", source, "f-acct/\(share)/\(dirName)/deep/\(fileName)", "--overwrite"]).status == 0)
        // Into a directory: the local name is kept; get into a local directory the same.
        #expect(try await atrest(["file", "put", tail, "f-acct/\(share)/\(dirName)"]).status == 0)
        #expect(try await names("f-acct/\(share)/\(dirName)") == ["deep", "tail.bin"])
        try FileManager.default.createDirectory(atPath: "\(cluster.root)/out", withIntermediateDirectories: true)
        #expect(try await atrest(["file", "get", "f-acct/\(share)/\(dirName)/tail.bin", "\(cluster.root)/out"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(cluster.root)/out/tail.bin")) == Data(content.suffix(5000)))

        // ls, show, usage.
        let listed = rows(try await atrest(["file", "ls", "f-acct/\(share)/\(dirName)/deep", "--json"]).out)
        #expect(listed.map { $0["name"] as? String ?? "" } == [fileName, "deeper"], "sorted by name: \(listed)")
        #expect(listed.first?["kind"] as? String == "file" && listed.first?["size"] as? Int == content.count && listed.last?["kind"] as? String == "directory")
        let shown = record(try await atrest(["file", "show", "f-acct/\(share)/\(dirName)/deep/\(fileName)", "--json"]).out)
        #expect(shown["size"] as? Int == content.count && shown["mode"] as? String == "0644" && shown["kind"] as? String == "file", "\(shown)")
        #expect(record(try await atrest(["file", "show", "f-acct/\(share)", "--json"]).out)["kind"] as? String == "directory", "the root")
        let usage = record(try await atrest(["share", "show", "f-acct/\(share)", "--json"]).out)
        #expect(usage["used"] as? Int == content.count + 5000 && usage["files"] as? Int == 2 && usage["directories"] as? Int == 3, "\(usage)")
        #expect(try await atrest(["file", "show", "f-acct/\(share)/no/such/file"]).status == 3)
        #expect(try await atrest(["file", "ls", "f-acct/\(share)/\(dirName)/deep/\(fileName)"]).status == 6, "ls of a file: not a directory")
        #expect(try await atrest(["file", "mkdir", "f-acct/\(share)/\(dirName)"]).status == 6, "mkdir of an existing directory")
        #expect(try await atrest(["file", "mkdir", "-p", "f-acct/\(share)/\(dirName)/deep"]).status == 0, "-p: existing is fine")
        let parentMissing = try await atrest(["file", "mkdir", "f-acct/\(share)/nowhere/child"])
        #expect(parentMissing.status == 3, "\(parentMissing.err)")
        #expect(try await atrest(["file", "mkdir", "f-acct/\(share)/a/../b"]).status == 2, "'..' refused")

        // mv of a directory: the subtree moves with it; the old path is gone.
        #expect(try await atrest(["file", "mkdir", "f-acct/\(share)/archive"]).status == 0)
        let moved = try await atrest(["file", "mv", "f-acct/\(share)/\(dirName)", "/archive/2026"])
        #expect(moved.status == 0, "\(moved.err)")
        #expect(try await names("f-acct/\(share)").sorted() == ["archive"])
        #expect(try await atrest(["file", "get", "f-acct/\(share)/archive/2026/deep/\(fileName)", got]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: got)) == Data(content), "the file moved with its directory")
        let cycle = try await atrest(["file", "mv", "f-acct/\(share)/archive", "f-acct/\(share)/archive/2026/deep/inner"])
        #expect(cycle.status == 2 && cycle.err.contains("into itself"), "\(cycle.err)")
        #expect(try await atrest(["file", "mv", "f-acct/\(share)/archive/2026/tail.bin", "f-acct/other-share/x"]).status == 2, "across shares")
        #expect(try await atrest(["file", "put", tail, "f-acct/\(share)/archive/copy.bin"]).status == 0)
        #expect(try await atrest(["file", "mv", "f-acct/\(share)/archive/copy.bin", "/archive/2026/tail.bin", "--no-replace"]).status == 6)
        #expect(try await atrest(["file", "mv", "f-acct/\(share)/archive/copy.bin", "/archive/2026/tail.bin"]).status == 0, "replace a file")

        // rm: a file; a directory only with -r (exit 6 without); the usage follows.
        let notEmpty = try await atrest(["file", "rm", "f-acct/\(share)/archive/2026"])
        #expect(notEmpty.status == 6 && notEmpty.err.contains("-r"), "\(notEmpty.err)")
        #expect(try await atrest(["file", "rm", "f-acct/\(share)/archive/2026/tail.bin"]).status == 0)
        #expect(try await atrest(["file", "rm", "-r", "f-acct/\(share)/archive/2026"]).status == 0)
        #expect(try await names("f-acct/\(share)/archive") == [])
        let emptied = record(try await atrest(["share", "show", "f-acct/\(share)", "--json"]).out)
        #expect(emptied["used"] as? Int == 0 && emptied["files"] as? Int == 0 && emptied["directories"] as? Int == 1, "\(emptied)")

        // Quota exceeded: a clear error, nothing created; the share works after.
        let over = try await atrest(["file", "put", source, "f-acct/small/too-big.bin"])
        #expect(over.status == 5 && over.err.contains("quota of 102400 bytes exceeded"), "\(over.err)")
        #expect(try await names("f-acct/small") == [])
        #expect(try await atrest(["file", "put", tail, "f-acct/small/fits.bin"]).status == 0)

        // A reader lists, shows and gets; writes nothing (exit 4).
        #expect(try await atrest(["file", "put", source, "f-acct/\(share)/archive/data.bin"]).status == 0)
        #expect(try await names("f-acct/\(share)/archive", as: "carol") == ["data.bin"])
        #expect(try await atrest(["share", "show", "f-acct/\(share)"], as: "carol").status == 0)
        #expect(try await atrest(["share", "ls", "f-acct"], as: "carol").out.contains(share))
        let readerCopy = "\(cluster.root)/reader.bin"
        #expect(try await atrest(["file", "get", "f-acct/\(share)/archive/data.bin", readerCopy], as: "carol").status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: readerCopy)) == Data(content))
        for verb in [["file", "put", tail, "f-acct/\(share)/archive/reader.bin"], ["file", "mkdir", "f-acct/\(share)/reader-dir"],
                     ["file", "rm", "f-acct/\(share)/archive/data.bin"], ["file", "mv", "f-acct/\(share)/archive", "/moved"],
                     ["share", "quota", "f-acct/\(share)", "1GiB"], ["share", "delete", "f-acct/\(share)"],
                     ["share", "create", "f-acct/readers-own", "--quota", "1MiB"]] {
            let denied = try await atrest(verb, as: "carol")
            #expect(denied.status == 4 && denied.err.contains("accountOwner"), "reader: \(verb): \(denied.err)")
        }

        // Another tenant's user reads nothing and lists nothing.
        for verb in [["file", "get", "f-acct/\(share)/archive/data.bin", "\(cluster.root)/dave.bin"], ["file", "ls", "f-acct/\(share)"],
                     ["file", "show", "f-acct/\(share)/archive"], ["share", "ls", "f-acct"], ["share", "show", "f-acct/\(share)"],
                     ["share", "delete", "f-acct/\(share)"]] {
            let denied = try await atrest(verb, as: "dave")
            #expect(denied.status == 4 && denied.err.contains("no access"), "other tenant: \(verb): \(denied.err)")
        }
        #expect((FileManager.default.contents(atPath: "\(cluster.root)/dave.bin") ?? Data()).isEmpty, "nothing reached another tenant's file")

        // The wire refuses malformed file calls with INVALID_ARGUMENT; the service stays up.
        let alice = try await cluster.login(tenant: "t1", "alice", "alice-secret-123456").merging(["account": "f-acct"]) { $1 }
        func refused(_ method: String, _ request: some WireMessage, parts: [PayloadPart] = [], contains text: String) async {
            do {
                _ = try await cluster.client.call(method, request: request, as: EmptyMessage.self, parts: parts, metadata: alice)
                Issue.record("\(method) was accepted")
            } catch let status as RPCStatus {
                #expect(status.code == .invalidArgument && status.message.contains(text), "\(method): \(status)")
            } catch {
                Issue.record("\(method): \(error)")
            }
        }
        let data = "archive/data.bin"
        await refused(FileMethod.writeFile.name, WriteFileRequest(share: share, path: data, offset: 0), contains: "1 byte to 4 MiB")
        await refused(FileMethod.writeFile.name, WriteFileRequest(share: share, path: data, offset: 0),
                      parts: [PayloadPart([UInt8](repeating: 1, count: 4 << 20)), PayloadPart([1])], contains: "4 MiB")
        await refused(FileMethod.writeFile.name, WriteFileRequest(share: share, path: data, offset: 4 << 40), parts: [PayloadPart([1])], contains: "4 TiB")
        await refused(FileMethod.readFile.name, ReadFileRequest(share: share, path: data, offset: 0, length: (4 << 20) + 1), contains: "4 MiB")
        await refused(FileMethod.readFile.name, ReadFileRequest(share: share, path: data, offset: 0, length: 0), contains: "1 byte")
        await refused(FileMethod.getFileProperties.name, FileRequest(share: share, path: "a//b"), contains: "empty component")
        await refused(FileMethod.getFileProperties.name, FileRequest(share: share, path: "archive/./data.bin"), contains: "'.' or '..'")
        // A NUL cannot travel in a protobuf string (protobuf-c would cut the
        // path short): FileClient refuses it before sending; data.bin stays (read below).
        let files = FileClient(ServiceClient(rpc: cluster.client, token: try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")),
                               account: "f-acct")
        await expectCode(.invalidArgument, contains: "NUL") { try await files.deleteFile(share, "\(data)\u{0}x") }
        await refused(FileMethod.getFileProperties.name, FileRequest(share: share, path: String(repeating: "x", count: 256)), contains: "255")
        await refused(FileMethod.getFileProperties.name, FileRequest(share: "X", path: ""), contains: "share")
        await refused(FileMethod.createDirectory.name, CreateFileRequest(share: share, path: "sized", size: 10), contains: "no size")
        await refused(FileMethod.setFileMode.name, SetFileModeRequest(share: share, path: data, mode: 0o10000), contains: "mode")
        // A read past the end is cut (here: 30 of 100 bytes), in the middle exact.
        let cut = try await cluster.client.call(FileMethod.readFile.name,
                                                request: ReadFileRequest(share: share, path: data, offset: UInt64(content.count - 30), length: 100),
                                                as: ReadFileResponse.self, metadata: alice)
        #expect(cut.message.length == 30 && cut.parts.joined() == Array(content.suffix(30)))

        // Nothing of names, metadata or contents in clear in the data directory.
        #expect(try await atrest(["share", "set-metadata", "f-acct/\(share)", "owner=\(shareMeta)"]).status == 0)
        let stored = cluster.allFiles().filter { !$0.hasSuffix(".log") && !$0.contains("/identity/") && !$0.contains("/vault/") && !$0.contains("/cli-") }
        #expect(stored.contains { $0.hasPrefix(cluster.objectsDirectory) })
        for file in stored where !file.hasSuffix(".bin") && !file.hasSuffix(".secret") && !file.contains("/out/") {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            for text in [String(decoding: marker, as: UTF8.self), share, shareMeta, "data.bin", "archive", "mandrill"] {
                #expect(!file.contains(text), "\(file) shows \(text)")
                #expect(!contains(bytes, Array(text.utf8)), "\(file) contains \(text)")
            }
            #expect(!contains(bytes, Array(content[(5 << 20)..<(5 << 20) + 64])), "\(file) holds file bytes in clear")
        }

        // Share delete: gone (exit 3 after), the other share stays.
        #expect(try await atrest(["share", "delete", "f-acct/\(share)"]).status == 0)
        #expect(try await atrest(["share", "show", "f-acct/\(share)"]).status == 3)
        #expect(try await atrest(["file", "ls", "f-acct/\(share)"]).status == 3)
        #expect(rows(try await atrest(["share", "ls", "f-acct", "--json"]).out).compactMap { $0["share"] as? String } == ["small"])
    }
}
