import AtRestTesting
import Foundation
import Testing

/// The `atrest queue` verbs against the real processes (through the front door only).
@Suite("CLI queue verbs with a real cluster", .serialized)
struct CLIQueueTests {
    @Test func queueVerbs() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        _ = try await cluster.bootstrapUsers()
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        let endpoint = cluster.frontDoor.endpoint
        func atrest(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + ["--endpoint", endpoint], environment: env)
        }
        func rows(_ text: String) -> [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? [] }
        func record(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }

        try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
        #expect(try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret"]).status == 0)
        #expect(try await atrest(["account", "create", "q-acct"]).status == 0)
        let acct = ["--account", "q-acct"]

        #expect(try await atrest(["queue", "create", "jobs", "--metadata", "team=red"] + acct).status == 0)
        #expect(try await atrest(["queue", "create", "jobs"] + acct).status == 6)
        #expect(try await atrest(["queue", "create", "Bad_Name"] + acct).status == 2)
        let listed = try await atrest(["queue", "list"] + acct)
        #expect(listed.out.contains("jobs") && listed.out.contains("team=red"), "\(listed.out)")

        let put = rows(try await atrest(["queue", "put", "jobs", "hello queue", "--ttl", "3600", "--json"] + acct).out)
        #expect(put.first?["body"] as? String == "hello queue" && (put.first?["pop_receipt"] as? String)?.count == 64)
        let file = "\(cluster.root)/body.bin"
        try Data([0xFF, 0x00, 0x01]).write(to: URL(fileURLWithPath: file))
        #expect(try await atrest(["queue", "put", "jobs", "--file", file] + acct).status == 0)
        #expect(try await atrest(["queue", "put", "jobs"] + acct).status == 2)

        let peek = try await atrest(["queue", "peek", "jobs", "--count", "5"] + acct)
        #expect(peek.out.contains("hello queue") && peek.out.contains("not UTF-8"), "\(peek.out)")
        let got = rows(try await atrest(["queue", "get", "jobs", "--count", "5", "--visibility", "60", "--json"] + acct).out)
        #expect(got.count == 2 && got.allSatisfy { $0["dequeue_count"] as? Int == 1 })
        #expect(got.last?["body_base64"] as? String == "/wAB")
        #expect(rows(try await atrest(["queue", "peek", "jobs", "--json"] + acct).out).isEmpty)

        let first = try #require(got.first), id = try #require(first["message_id"] as? String), receipt = try #require(first["pop_receipt"] as? String)
        let updated = rows(try await atrest(["queue", "update", "jobs", id, "--pop-receipt", receipt, "--visibility", "0", "--text", "again", "--json"] + acct).out)
        let newReceipt = try #require(updated.first?["pop_receipt"] as? String)
        #expect(newReceipt != receipt)
        // A stale pop receipt: not found (exit 3) with a message that says why.
        let stale = try await atrest(["queue", "delete-message", "jobs", id, "--pop-receipt", receipt] + acct)
        #expect(stale.status == 3 && stale.err.contains("pop receipt"), "\(stale.err)")
        #expect(try await atrest(["queue", "delete-message", "jobs", id, "--pop-receipt", newReceipt] + acct).status == 0)

        let shown = record(try await atrest(["queue", "show", "jobs", "--json"] + acct).out)
        #expect(shown["approximate_messages"] as? Int == 1 && shown["metadata"] as? String == "team=red")
        #expect(try await atrest(["queue", "clear", "jobs"] + acct).status == 0)
        #expect(record(try await atrest(["queue", "show", "jobs", "--json"] + acct).out)["approximate_messages"] as? Int == 0)
        #expect(try await atrest(["queue", "delete", "jobs"] + acct).status == 0)
        #expect(try await atrest(["queue", "show", "jobs"] + acct).status == 3)
    }
}
