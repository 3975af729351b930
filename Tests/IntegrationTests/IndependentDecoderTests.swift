import AtRestTesting
import Foundation
import Testing

/// docs/FORMAT.md "Key chain at rest" is complete and true: a decoder
/// written from the docs alone (clients/python/atrest_decode.py, no AtRest
/// code) goes from the root keys and the data directories of a stopped
/// cluster to every blob and every queue message, byte for byte.
@Suite(.serialized) struct IndependentDecoderTests {
    @Test func decodesEveryBlobFromRootKeysAndDataDirectories() async throws {
        let fixture = try await RecoveryFixture.start(tag: "decoder")
        defer { fixture.remove() }
        fixture.stop()
        let work = fixture.root + "/decoder"
        try FileManager.default.createDirectory(atPath: work + "/py", withIntermediateDirectories: true)
        try await ClientTools.requirePython(in: work, modules: ["cryptography", "google.protobuf"])
        try await ClientTools.generatePython(into: work + "/py")
        let run = try await ClientTools.run(ClientTools.python, [
            ClientTools.repoRoot + "/clients/python/atrest_decode.py",
            "--vault-dir", fixture.vaultDirectory, "--vault-root-key", fixture.vaultRootKey,
            "--registry-dir", fixture.registryDirectory, "--frontdoor-root-key", fixture.frontDoorRootKey,
            "--objects-dir", fixture.objectsDirectory, "--proto-python", work + "/py", "--out", work + "/out",
        ], in: work, timeout: .seconds(120))
        try #require(run.status == 0, "\(run.transcript)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let accounts = try #require(report["accounts"] as? [[String: Any]])
        #expect(Set(accounts.compactMap { $0["account"] as? String }) == ["acct-m", "acct-c", "acct-i"])
        #expect(accounts.first { $0["account"] as? String == "acct-c" }?["provider"] as? String == "customer")
        let decoded = try #require(report["blobs"] as? [[String: Any]])
        #expect(decoded.count == fixture.blobCount)
        var seen = 0
        for blob in decoded {
            let account = try #require(blob["account"] as? String), container = try #require(blob["container"] as? String)
            let name = try #require(blob["name"] as? String), file = try #require(blob["file"] as? String)
            let expected = try #require(fixture.blobs[account]?[container]?[name], "unexpected blob \(account)/\(container)/\(name)")
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(bytes == expected, "\(account)/\(container)/\(name): \(bytes.count) bytes, expected \(expected.count)")
            seen += 1
        }
        #expect(seen == fixture.blobCount)
        // Queue messages (docs/FORMAT.md "Record maps", "Queues"), the claimed one too.
        let messages = try #require(report["messages"] as? [[String: Any]])
        #expect(messages.count == fixture.messageCount)
        for message in messages {
            let account = try #require(message["account"] as? String), queue = try #require(message["queue"] as? String)
            let id = try #require(message["id"] as? String), file = try #require(message["file"] as? String)
            let expected = try #require(fixture.messages[account]?[queue]?[id], "unexpected message \(account)/\(queue)/\(id)")
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: file))) == expected, "\(account)/\(queue)/\(id)")
        }
        #expect(messages.filter { $0["dequeue_count"] as? Int == 1 }.count == 2, "one claimed message per account")
        // Key material never reaches the output.
        let rootKey = try String(contentsOfFile: fixture.vaultRootKey, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!run.stdout.contains(rootKey) && !run.stderr.contains(rootKey))
    }
}
