import AtRestTesting
import Foundation
import Testing

/// The `atrest table` and `atrest entity` verbs against the real processes (through the front door only).
@Suite("CLI table verbs with a real cluster", .serialized)
struct CLITableTests {
    @Test func tableAndEntityVerbs() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        _ = try await cluster.bootstrapUsers()
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        let endpoint = cluster.frontDoor.endpoint
        func atrest(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + ["--endpoint", endpoint], environment: env)
        }
        func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }

        try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
        #expect(try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret"]).status == 0)
        #expect(try await atrest(["account", "create", "t-acct"]).status == 0)
        let acct = ["--account", "t-acct"]

        #expect(try await atrest(["table", "create", "People"] + acct).status == 0)
        #expect(try await atrest(["table", "create", "people"] + acct).status == 6)
        #expect(try await atrest(["table", "create", "bad-name"] + acct).status == 2)
        #expect(try await atrest(["table", "list"] + acct).out.contains("People"))

        let props = ["--prop", "Name=Ada", "--prop", "Age=int32:36", "--prop", "Big=int64:5000000000", "--prop", "Score=double:2.5",
                     "--prop", "Active=bool:true", "--prop", "Born=datetime:1815-12-10T00:00:00.5Z",
                     "--prop", "Id=guid:01234567-89ab-cdef-0123-456789abcdef", "--prop", "Photo=binary:/wAB"]
        let inserted = try #require(json(try await atrest(["entity", "insert", "People", "uk", "ada"] + props + ["--json"] + acct).out) as? [String: Any])
        let etag = try #require(inserted["ETag"] as? String)
        let properties = try #require(inserted["properties"] as? [String: [String: String]])
        #expect(properties["Born"] == ["type": "datetime", "value": "1815-12-10T00:00:00.500Z"] && properties["Id"]?["value"] == "01234567-89ab-cdef-0123-456789abcdef")
        #expect(properties["Photo"] == ["type": "binary", "value": "/wAB"] && properties["Big"] == ["type": "int64", "value": "5000000000"])
        #expect(try await atrest(["entity", "insert", "People", "uk", "ada"] + acct).status == 6)
        #expect(try await atrest(["entity", "insert", "People", "uk", "x", "--prop", "Age=int32:nope"] + acct).status == 2)
        #expect(try await atrest(["entity", "merge", "People", "uk", "ada", "--prop", "Age=int32:37", "--if-match", etag] + acct).status == 0)
        let stale = try await atrest(["entity", "replace", "People", "uk", "ada", "--if-match", etag] + acct)
        #expect(stale.status == 6 && stale.err.contains("has ETag"), "\(stale.err)")
        let shown = try await atrest(["entity", "get", "People", "uk", "ada", "--select", "Age,Name"] + acct)
        #expect(shown.out.contains("37 (int32)") && shown.out.contains("Ada (string)") && !shown.out.contains("Score"), "\(shown.out)")
        #expect(try await atrest(["entity", "upsert", "People", "fr", "zoe", "--prop", "Age=int32:20"] + acct).status == 0)
        #expect(try await atrest(["entity", "upsert", "People", "fr", "zoe", "--merge", "--prop", "City=Lyon"] + acct).status == 0)

        let batch = "\(cluster.root)/batch.jsonl"
        try (0..<20).map { #"{"op": "insert", "PartitionKey": "jp", "RowKey": "r\#($0)", "props": {"N": "int32:\#($0)"}}"# }.joined(separator: "\n")
            .write(toFile: batch, atomically: true, encoding: .utf8)
        let applied = try await atrest(["entity", "batch", "People", batch, "--json"] + acct)
        #expect((json(applied.out) as? [[String: Any]])?.count == 20, "\(applied.err)")
        let again = try await atrest(["entity", "batch", "People", batch] + acct)
        #expect(again.status == 6 && again.err.contains("operation 0 (insert)"), "\(again.err)")

        let query = try #require(json(try await atrest(["entity", "query", "People", "--filter", "N ge 15 or Age gt 30", "--select", "N,Age", "--json"] + acct).out) as? [[String: Any]])
        #expect(query.map { "\($0["PartitionKey"]!)/\($0["RowKey"]!)" } == ["jp/r15", "jp/r16", "jp/r17", "jp/r18", "jp/r19", "uk/ada"])
        #expect(try #require(json(try await atrest(["entity", "query", "People", "--top", "3", "--json"] + acct).out) as? [[String: Any]]).count == 3)
        let table = try await atrest(["entity", "query", "People", "--filter", "PartitionKey eq 'fr'"] + acct)
        #expect(table.out.contains("City") && table.out.contains("Lyon") && table.out.contains("zoe"), "\(table.out)")
        let badFilter = try await atrest(["entity", "query", "People", "--filter", "Age gt"] + acct)
        #expect(badFilter.status == 2 && badFilter.err.contains("position 7"), "\(badFilter.err)")

        // Tables listed by prefix, as a table and as JSON.
        #expect(try await atrest(["table", "create", "Places"] + acct).status == 0)
        let listed = try await atrest(["table", "list", "--prefix", "Pe", "--json"] + acct)
        #expect((json(listed.out) as? [[String: Any]])?.compactMap { $0["table"] as? String } == ["People"], "\(listed.out)")
        let human = try await atrest(["table", "list"] + acct)
        #expect(human.out.contains("People") && human.out.contains("Places"), "\(human.out)")

        // Conditional writes with the current ETag succeed; a delete with a stale one does not.
        let zoe = try #require(json(try await atrest(["entity", "get", "People", "fr", "zoe", "--json"] + acct).out) as? [String: Any])
        let zoeTag = try #require(zoe["ETag"] as? String)
        #expect((zoe["properties"] as? [String: [String: String]])?["City"]?["value"] == "Lyon")
        let replaced = try #require(json(try await atrest(["entity", "replace", "People", "fr", "zoe", "--prop", "Age=int32:21", "--if-match", zoeTag, "--json"]
                                                          + acct).out) as? [String: Any])
        #expect((replaced["properties"] as? [String: Any])?.keys.sorted() == ["Age"])
        let staleDelete = try await atrest(["entity", "delete", "People", "fr", "zoe", "--if-match", zoeTag] + acct)
        #expect(staleDelete.status == 6 && staleDelete.err.contains("has ETag"), "\(staleDelete.err)")
        #expect(try await atrest(["entity", "delete", "People", "fr", "zoe", "--if-match", try #require(replaced["ETag"] as? String)] + acct).status == 0)

        // A batch file of every kind, with ETags; its human output lists each operation; a bad line names its number.
        let r1 = try #require(json(try await atrest(["entity", "get", "People", "jp", "r1", "--json"] + acct).out) as? [String: Any])
        let mixed = "\(cluster.root)/mixed.jsonl"
        try [
            #"{"op": "replace", "PartitionKey": "jp", "RowKey": "r1", "props": {"N": "int32:100"}, "ifMatch": "\#(r1["ETag"] as? String ?? "")"}"#,
            #"{"op": "merge", "PartitionKey": "jp", "RowKey": "r2", "props": {"Tag": "x"}}"#,
            #"{"op": "delete", "PartitionKey": "jp", "RowKey": "r3", "ifMatch": "*"}"#,
            #"{"op": "upsert", "PartitionKey": "jp", "RowKey": "r20", "props": {"N": "int32:20"}}"#,
            #"{"op": "upsert-merge", "PartitionKey": "jp", "RowKey": "r4", "props": {"Tag": "y"}}"#,
        ].joined(separator: "\n").write(toFile: mixed, atomically: true, encoding: .utf8)
        let mixedRun = try await atrest(["entity", "batch", "People", mixed] + acct)
        #expect(mixedRun.status == 0 && ["replace", "merge", "delete", "upsert", "upsert-merge", "r20"].allSatisfy(mixedRun.out.contains), "\(mixedRun.out)\(mixedRun.err)")
        let after = try #require(json(try await atrest(["entity", "query", "People", "--filter", "PartitionKey eq 'jp' and RowKey le 'r4'", "--json"] + acct).out)
                                 as? [[String: Any]])
        #expect(after.compactMap { $0["RowKey"] as? String } == ["r0", "r1", "r10", "r11", "r12", "r13", "r14", "r15", "r16", "r17", "r18", "r19", "r2", "r20", "r4"])
        let staleBatch = try await atrest(["entity", "batch", "People", mixed] + acct)  // r1's ETag is stale now
        #expect(staleBatch.status == 6 && staleBatch.err.contains("operation 0 (replace)"), "\(staleBatch.err)")
        try "{\"op\": \"insert\", \"PartitionKey\": \"jp\", \"RowKey\": \"ok\"}\n{\"op\": \"upsert\"}\n".write(toFile: mixed, atomically: true, encoding: .utf8)
        let badLine = try await atrest(["entity", "batch", "People", mixed] + acct)
        #expect(badLine.status == 2 && badLine.err.contains("line 2"), "\(badLine.err)")

        #expect(try await atrest(["entity", "delete", "People", "uk", "ada"] + acct).status == 0)
        #expect(try await atrest(["entity", "get", "People", "uk", "ada"] + acct).status == 3)
        #expect(try await atrest(["table", "delete", "People"] + acct).status == 0)
        #expect(try await atrest(["entity", "query", "People"] + acct).status == 3)
    }
}
