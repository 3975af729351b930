import AtRestTesting
import Foundation
import Testing

/// The `atrest` account, encryption, container and blob verbs against the
/// five real processes (through the front door only).
@Suite("CLI blob verbs with a real cluster", .serialized)
struct CLIBlobTests {
    @Test func accountContainerAndBlobVerbs() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        _ = try await cluster.bootstrapUsers()
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        let endpoint = cluster.frontDoor.endpoint
        func atrest(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + ["--endpoint", endpoint], environment: env)
        }
        func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }

        try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
        #expect(try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret"]).status == 0)

        let created = try await atrest(["account", "create", "cli-acct", "--json"])
        #expect(created.status == 0, "\(created.err)")
        #expect(json(created.out)["keySource"] as? String == "managed")
        #expect(json(created.out)["infrastructureEncryption"] as? Bool == false)
        #expect(try await atrest(["account", "create", "cli-acct"]).status == 6)
        // Infrastructure (double) encryption: fixed at creation, shown by `account show`.
        let double = try await atrest(["account", "create", "cli-infra", "--infrastructure-encryption", "--json"])
        #expect(double.status == 0 && json(double.out)["infrastructureEncryption"] as? Bool == true, "\(double.err)")
        let shown = try await atrest(["account", "show", "cli-infra"])
        #expect(shown.out.split(separator: "\n").contains { $0.hasPrefix("infrastructureEncryption ") && $0.hasSuffix(" yes") }, "\(shown.out)")
        #expect(try await atrest(["account", "list"]).out.contains("cli-acct"))
        let encryption = json(try await atrest(["encryption", "show", "cli-acct", "--json"]).out)
        #expect(encryption["algorithm"] as? String == "AES-256-GCM")
        #expect(encryption["provider"] as? String == "managed")

        let acct = ["--account", "cli-acct"]
        #expect(try await atrest(["container", "create", "docs"] + acct).status == 0)
        #expect(try await atrest(["container", "create", "Bad_Name"] + acct).status == 2)
        #expect(try await atrest(["container", "list"] + acct).out.contains("docs"))

        // 9 MiB + 1: staged blocks, parallel ranged download, byte-exact.
        let source = "\(cluster.root)/source.bin"
        let bytes = (0..<(9 << 20) + 1).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let put = try await atrest(["blob", "put", "docs", "big.bin", source, "--metadata", "team=red", "--json"] + acct)
        #expect(put.status == 0, "\(put.err)")
        #expect(json(put.out)["length"] as? Int == bytes.count)
        #expect(!put.err.contains("\r"), "no progress bar when stderr is not a terminal")
        let target = "\(cluster.root)/back.bin"
        let get = try await atrest(["blob", "get", "docs", "big.bin", target] + acct)
        #expect(get.status == 0, "\(get.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(bytes))

        let small = "\(cluster.root)/small.txt"
        try "hello".write(toFile: small, atomically: true, encoding: .utf8)
        #expect(try await atrest(["blob", "put", "docs", "notes/a.txt", small, "--content-type", "text/plain"] + acct).status == 0)
        let stdout = try await atrest(["blob", "get", "docs", "notes/a.txt", "-"] + acct)
        #expect(stdout.out == "hello")

        // put-files: several files over one connection, each blob named by its file name, byte-exact.
        try FileManager.default.createDirectory(atPath: "\(cluster.root)/many", withIntermediateDirectories: true)
        var many: [String: [UInt8]] = [:]
        for i in 0..<6 {
            many["many-\(i).bin"] = (0..<(i * 40_000 + 1)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            try Data(many["many-\(i).bin"]!).write(to: URL(fileURLWithPath: "\(cluster.root)/many/many-\(i).bin"))
        }
        let putMany = try await atrest(["blob", "put-files", "docs"] + many.keys.sorted().map { "\(cluster.root)/many/\($0)" } + ["--parallelism", "3"] + acct)
        #expect(putMany.status == 0 && putMany.out.contains("uploaded 6 files"), "\(putMany.err)")
        for (name, content) in many {
            let back = "\(cluster.root)/many/back-\(name)"
            #expect(try await atrest(["blob", "get", "docs", name, back] + acct).status == 0, "\(name)")
            #expect(FileManager.default.contents(atPath: back) == Data(content), "\(name)")
        }
        #expect(try await atrest(["blob", "put-files", "docs", small, small] + acct).status == 2, "two files of one name")

        let listing = try await atrest(["blob", "ls", "docs", "--prefix", "notes/", "--json"] + acct)
        let rows = (try? JSONSerialization.jsonObject(with: Data(listing.out.utf8))) as? [[String: Any]] ?? []
        #expect(rows.map { $0["name"] as? String } == ["notes/a.txt"])

        let meta = try await atrest(["blob", "set-metadata", "docs", "big.bin", "team=blue", "stage=done", "--json"] + acct)
        #expect(meta.status == 0, "\(meta.err)")
        let props = json(try await atrest(["blob", "props", "docs", "big.bin", "--json"] + acct).out)
        #expect((props["metadata"] as? [String])?.sorted() == ["stage=done", "team=blue"])
        #expect((props["sha256"] as? String)?.count == 64, "the content hash survives a metadata change")

        // Exit codes: not found 3, not empty 2 (INVALID_ARGUMENT), permission 4.
        #expect(try await atrest(["blob", "props", "docs", "missing"] + acct).status == 3)
        #expect(try await atrest(["container", "rm", "docs"] + acct).status != 0)
        #expect(try await atrest(["encryption", "set", "cli-acct", "--key-source", "customer", "--key", "nope"]).status != 0)
        let noGrant = try await atrest(["key", "create", "customer/cli-k"])
        #expect(noGrant.status == 0, "\(noGrant.err)")
        let switchDenied = try await atrest(["encryption", "set", "cli-acct", "--key-source", "customer", "--key", "cli-k"])
        #expect(switchDenied.status == 4)
        #expect(switchDenied.err.contains("wrap") && switchDenied.err.contains("unwrap"))
        #expect(try await atrest(["encryption", "set", "cli-acct", "--key-source", "off"]).status == 2)
        #expect(try await atrest(["blob", "ls", "docs"]).status == 2, "no account named")

        #expect(try await atrest(["blob", "rm", "docs", "notes/a.txt"] + acct).status == 0)
        #expect(try await atrest(["container", "rm", "docs", "--force"] + acct).status == 0)
        #expect(try await atrest(["container", "list", "--json"] + acct).out.contains("docs") == false)
    }
}
