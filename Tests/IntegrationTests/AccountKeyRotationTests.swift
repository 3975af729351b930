import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Issue 20, account-key rotation, through the real five processes and the
/// CLI: a rotated account writes under the new version, reads every version,
/// lists all names (names keep their stable name key), and survives a KEK
/// rotation afterwards (the older versions are re-wrapped too).
@Suite("Account key rotation", .serialized)
struct AccountKeyRotationTests {
    /// The "account key version" field of an object file's clear fixed header (docs/FORMAT.md).
    static func accountKeyVersion(ofObjectFile path: String) throws -> UInt32 {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(b.count > 64 && Array(b[0..<4]) == Array("ATRS".utf8), "\(path) is not an object file")
        let p = Int(b[10]), k = Int(b[11 + p])
        let at = 12 + p + k + 4
        return b[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    @Test func rotateWriteReadListAndKEKRotation() async throws {
        let cluster = try LocalCluster.blobCluster()
        defer { cluster.stop() }
        let (alice, bob) = try await cluster.bootstrapUsers()
        let c = cluster.client
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        let endpoint = cluster.frontDoor.endpoint
        func atrest(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + ["--endpoint", endpoint], environment: env)
        }
        func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
        func objectFiles() -> Set<String> {
            Set(cluster.allFiles().filter { $0.contains("/objects/") && $0.split(separator: "/").last!.hasPrefix("o-") })
        }
        try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
        #expect(try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret"]).status == 0)
        #expect(try await atrest(["account", "create", "rot-acct"]).status == 0)
        let acct = ["--account", "rot-acct"]
        #expect(try await atrest(["container", "create", "docs"] + acct).status == 0)
        let shown = json(try await atrest(["account", "show", "rot-acct", "--json"]).out)
        #expect(shown["accountKeyVersion"] as? Int == 1 && shown["accountKeyVersions"] as? String == "1", "\(shown)")

        let fileA = "\(cluster.root)/a.txt", fileB = "\(cluster.root)/b.txt"
        try "written under version one".write(toFile: fileA, atomically: true, encoding: .utf8)
        try "written under version two".write(toFile: fileB, atomically: true, encoding: .utf8)
        var before = objectFiles()
        #expect(try await atrest(["blob", "put", "docs", "a.txt", fileA] + acct).status == 0)
        let objectA = try #require(objectFiles().subtracting(before).first)
        #expect(try Self.accountKeyVersion(ofObjectFile: objectA) == 1)

        // Only an owner rotates; bob (another tenant's user) is refused, the account unchanged.
        let b = try await c.call(AccountMethod.get.name, request: AccountRequest(accountID: "rot-acct"), as: AccountInfo.self, metadata: alice).message
        await expectCode(.permissionDenied, contains: "not an owner") {
            _ = try await c.call(AccountMethod.rotateKey.name, request: AccountRequest(accountID: "rot-acct"), as: AccountEncryption.self, metadata: bob)
        }
        #expect(try await c.call(AccountMethod.get.name, request: AccountRequest(accountID: "rot-acct"), as: AccountInfo.self, metadata: alice).message == b)

        let rotated = try await atrest(["account", "rotate-key", "rot-acct", "--json"])
        #expect(rotated.status == 0, "\(rotated.err)")
        #expect(json(rotated.out)["accountKeyVersion"] as? Int == 2, "\(rotated.out)")
        let afterRotation = json(try await atrest(["account", "show", "rot-acct", "--json"]).out)
        #expect(afterRotation["accountKeyVersion"] as? Int == 2 && afterRotation["accountKeyVersions"] as? String == "1,2", "\(afterRotation)")

        before = objectFiles()
        #expect(try await atrest(["blob", "put", "docs", "b.txt", fileB] + acct).status == 0)
        let objectB = try #require(objectFiles().subtracting(before).first)
        #expect(try Self.accountKeyVersion(ofObjectFile: objectB) == 2, "new writes use the new version")
        #expect(try Self.accountKeyVersion(ofObjectFile: objectA) == 1, "the old object is untouched")

        func expectBothReadable() async throws {
            #expect(try await atrest(["blob", "get", "docs", "a.txt", "-"] + acct).out == "written under version one")
            #expect(try await atrest(["blob", "get", "docs", "b.txt", "-"] + acct).out == "written under version two")
            let rows = (try? JSONSerialization.jsonObject(with: Data(try await atrest(["blob", "ls", "docs", "--json"] + acct).out.utf8))) as? [[String: Any]] ?? []
            #expect(rows.compactMap { $0["name"] as? String } == ["a.txt", "b.txt"])
        }
        try await expectBothReadable()
        // Overwriting an old-version object writes it under the current version.
        #expect(try await atrest(["blob", "put", "docs", "a.txt", fileA] + acct).status == 0)
        #expect(try Self.accountKeyVersion(ofObjectFile: objectA) == 2, "an object's file keeps its keyed-hash name")

        // A second rotation: three versions, still one name key.
        #expect(try await atrest(["account", "rotate-key", "rot-acct"]).status == 0)
        #expect(try await atrest(["container", "list"] + acct).out.contains("docs"))
        try await expectBothReadable()

        // KEK rotation (the system key administrator rotates the managed key): the front
        // door re-wraps the current key and every older version; all stay readable.
        let e = try await c.call(AccountMethod.getEncryption.name, request: AccountRequest(accountID: "rot-acct"), as: AccountEncryption.self, metadata: alice).message
        let system = try await cluster.systemKeyAdministrator()
        _ = try await c.call("atrest.v1.KeyVault/RotateKey", request: RotateKeyRequest(KeyRef(provider: "managed", keyID: e.keyID)), as: KeyResponse.self, metadata: system)
        try await eventually {
            let now = try await c.call(AccountMethod.getEncryption.name, request: AccountRequest(accountID: "rot-acct"), as: AccountEncryption.self, metadata: alice).message
            guard now.keyVersion == e.keyVersion + 1 else { throw RPCStatus(.failedPrecondition, "still at KEK version \(now.keyVersion)") }
        }
        #expect(json(try await atrest(["account", "show", "rot-acct", "--json"]).out)["accountKeyVersions"] as? String == "1,2,3")
        // The worker's cached keys are dropped by the rotation event; reads unwrap every version anew.
        try await expectBothReadable()

        // A fourth version after the KEK rotation: generated under the new KEK version.
        #expect(try await atrest(["account", "rotate-key", "rot-acct"]).status == 0)
        try await expectBothReadable()
        #expect(try await atrest(["account", "rotate-key", "no-such-acct"]).status == 3, "NOT_FOUND's exit code")
    }
}
