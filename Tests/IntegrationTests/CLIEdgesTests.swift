import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The CLI as a new user meets it, against a real cluster with CURVE on
/// every link: saved connection settings and profiles, failing at once
/// without configuration, messages that say what to do, ISO 8601 times,
/// exit codes (7: data integrity) and `--json` errors, output without empty
/// fields, one metadata syntax, and the list verbs with their tenant check.
@Suite("CLI edges with a real CURVE cluster", .serialized)
struct CLIEdgesTests {
    typealias Run = (status: Int32, out: String, err: String)

    static func json(_ text: String) -> [String: Any] { CLIUsers.record(text) }
    static func rows(_ text: String) -> [[String: Any]] { CLIUsers.rows(text) }

    @Test func connectionSettingsErrorsAndOutput() async throws {
        var options = LocalCluster.blobClusterOptions
        options.rootTag = "cli-edges"
        options.workers = 1
        options.curve = true
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        _ = try await cluster.bootstrapUsers()
        let admin = try await cluster.adminIdentity()
        _ = try await admin.createTenant("t2")
        _ = try await admin.createUser(tenant: "t2", name: "dave", secret: "dave-secret-123456")
        let curve = try #require(cluster.curve)
        let root = cluster.root
        let endpoint = cluster.frontDoor.endpoint
        let config = "\(root)/cli/config.json"
        let connection = ["--endpoint", endpoint, "--curve-server-key=\(curve.frontDoorKey)", "--curve-key-file", "\(curve.directory)/client.key"]
        func atrest(_ args: [String], config path: String = config) async throws -> Run {
            try await runTool("atrest", args, environment: ["ATREST_CONFIG": path])
        }
        for (name, secret) in [("alice", "alice-secret-123456"), ("dave", "dave-secret-123456"), ("admin", try cluster.secret("admin"))] {
            try secret.write(toFile: "\(root)/\(name).secret", atomically: true, encoding: .utf8)
        }

        // No configuration: fails at once, says how to log in; --json gives the same as one object on stderr.
        let none = try await atrest(["account", "list"], config: "\(root)/none/config.json")
        #expect(none.status == 4 && none.err.contains("atrest login --endpoint") && none.out.isEmpty, "\(none)")
        let noneJSON = try await atrest(["account", "list", "--json"], config: "\(root)/none/config.json")
        let noneError = Self.json(noneJSON.err)
        #expect(noneJSON.status == 4 && noneJSON.out.isEmpty, "\(noneJSON)")
        #expect(noneError["code"] as? String == "UNAUTHENTICATED" && noneError["exitCode"] as? Int == 4, "\(noneJSON.err)")
        #expect((noneError["message"] as? String)?.contains("no endpoint") == true && noneError["details"] is [String: Any])

        // A configuration file of the earlier flat form reads as the profile "default".
        try FileManager.default.createDirectory(atPath: "\(root)/legacy", withIntermediateDirectories: true)
        try #"{"endpoint": "tcp://127.0.0.1:1", "token": "old-token-value"}"#.write(toFile: "\(root)/legacy/config.json", atomically: true, encoding: .utf8)
        let legacy = try await atrest(["config", "show", "--json"], config: "\(root)/legacy/config.json")
        #expect(Self.json(legacy.out)["profile"] as? String == "default" && Self.json(legacy.out)["endpoint"] as? String == "tcp://127.0.0.1:1"
                && !legacy.out.contains("old-token-value"), "\(legacy)")

        // Connected, but no token: says to log in, not which metadata to send.
        let noToken = try await atrest(["account", "list"] + connection, config: "\(root)/fresh/config.json")
        #expect(noToken.status == 4 && noToken.err.contains("atrest login") && !noToken.err.contains("Bearer"), "\(noToken)")

        // Login saves endpoint, CURVE server key and client key file; plain commands work afterwards.
        let login = try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(root)/alice.secret"] + connection)
        #expect(login.status == 0, "\(login)")
        let mode = (try FileManager.default.attributesOfItem(atPath: config)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        let created = try await atrest(["account", "create", "edge-acct", "--json"])
        #expect(created.status == 0, "\(created)")
        let shown = try await atrest(["config", "show", "--json"])
        let shownConfig = Self.json(shown.out)
        #expect(shownConfig["endpoint"] as? String == endpoint && shownConfig["curve"] as? Bool == true
                && shownConfig["curveKeyFile"] as? String == "\(curve.directory)/client.key" && shownConfig["token"] as? String == "set",
                "\(shown)")
        let savedToken = try #require(CLIConfigFileText.token(config, profile: "default"))
        #expect(!shown.out.contains(savedToken) && !shown.out.contains(curve.frontDoorKey), "config show prints no token or key")

        // Profiles: the admin's login goes into "ops" and becomes current; `config use` switches back.
        let ops = try await atrest(["login", "--profile", "ops", "--user", "admin", "--secret-file", "\(root)/admin.secret"] + connection)
        #expect(ops.status == 0, "\(ops)")
        #expect(Self.json(try await atrest(["whoami", "--json"]).out)["name"] as? String == "admin")
        #expect(Self.json(try await atrest(["whoami", "--json", "--profile", "default"]).out)["name"] as? String == "alice")
        let profiles = Self.rows(try await atrest(["config", "list", "--json"]).out)
        #expect(profiles.map { $0["profile"] as? String } == ["default", "ops"] && profiles.map { $0["current"] as? Bool } == [false, true])
        #expect(try await atrest(["config", "use", "nope"]).status == 3)
        #expect(try await atrest(["config", "use", "default"]).status == 0)
        #expect(Self.json(try await atrest(["whoami", "--json"]).out)["name"] as? String == "alice")

        // A CURVE key the front door does not allow: the message names the allow list, not a login.
        let stranger = try await runTool("atrest", ["curve", "keygen", "\(root)/stranger.key"])
        #expect(stranger.status == 0)
        let refused = try await atrest(["account", "list", "--curve-key-file", "\(root)/stranger.key"])
        #expect(refused.status == 4 && refused.err.contains("allow") && !refused.err.contains("atrest login"), "\(refused)")
        // No CURVE towards the CURVE endpoint: no answer, and the hint asks about CURVE (not congestion).
        let plain = try await atrest(["account", "list", "--endpoint", endpoint, "--timeout", "5"], config: "\(root)/plain/config.json")
        #expect(plain.status == 5 && plain.err.contains("CURVE-enabled") && !plain.err.contains("congested"), "\(plain)")
        let plainJSON = Self.json(try await atrest(["account", "list", "--endpoint", endpoint, "--timeout", "5", "--json"],
                                                    config: "\(root)/plain/config.json").err)
        #expect(plainJSON["exitCode"] as? Int == 5 && (plainJSON["hint"] as? String)?.contains("CURVE-enabled") == true, "\(plainJSON)")

        // Times: ISO 8601 in and out (Unix seconds still accepted); an expired key says so.
        let iso = try await atrest(["key", "create", "customer/edge-iso", "--expires-at", "2031-01-02T03:04:05Z", "--json"])
        let isoKey = Self.json(iso.out)
        #expect(iso.status == 0 && isoKey["expiresAt"] as? String == "2031-01-02T03:04:05Z" && isoKey["state"] as? String == "enabled", "\(iso)")
        #expect((isoKey["createdAt"] as? String)?.hasSuffix("Z") == true && isoKey["rotatedAt"] as? String != nil)
        let unix = Self.json(try await atrest(["key", "create", "customer/edge-unix", "--expires-at", "1924992000", "--json"]).out)
        #expect(unix["expiresAt"] as? String == "2031-01-01T00:00:00Z", "\(unix)")
        #expect(try await atrest(["key", "create", "customer/edge-bad", "--expires-at", "tomorrow"]).status == 2)
        // A usage error under --json is a JSON object on stderr too, with the same exit code.
        let badJSON = try await atrest(["key", "create", "customer/edge-bad", "--expires-at", "tomorrow", "--json"])
        let badError = Self.json(badJSON.err)
        #expect(badJSON.status == 2 && badError["code"] as? String == "INVALID_ARGUMENT" && badError["exitCode"] as? Int == 2
                && (badError["message"] as? String)?.contains("'tomorrow' is invalid for '--expires-at") == true, "\(badJSON)")
        let expired = Self.json(try await atrest(["key", "create", "customer/edge-old", "--expires-at", "2020-01-01T00:00:00Z", "--json"]).out)
        #expect(expired["state"] as? String == "expired" && expired["expiresAt"] as? String == "2020-01-01T00:00:00Z", "\(expired)")
        let listed = Self.rows(try await atrest(["key", "list", "--json"]).out)
        #expect(listed.first { $0["key"] as? String == "customer/edge-old" }?["state"] as? String == "expired", "\(listed)")
        // Purge protection: the refusal names the date.
        #expect(try await atrest(["key", "create", "customer/edge-pp", "--purge-protection", "--retention-days", "7"]).status == 0)
        let deleted = Self.json(try await atrest(["key", "delete", "customer/edge-pp", "--json"]).out)
        for field in ["purgeAfter", "deletedAt"] {
            #expect((deleted[field] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil, "\(field): \(deleted)")
        }
        let purge = try await atrest(["key", "purge", "customer/edge-pp"])
        #expect(purge.status == 6 && purge.err.contains("purge-protected until 20") && !purge.err.contains("Unix"), "\(purge)")
        let audit = Self.rows(try await atrest(["audit", "show", "--json"]).out)
        #expect(!audit.isEmpty && audit.allSatisfy {
            ($0["time"] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil
        }, "\(audit.prefix(2))")

        // key import: the CLI seals the key file's 32 bytes to the vault's import key; the key is never printed.
        let material = (0..<32).map { String(format: "%02x", ($0 * 37 + 11) & 0xff) }.joined()
        try (material + "\n").write(toFile: "\(root)/byok.hex", atomically: true, encoding: .utf8)
        let imported = try await atrest(["key", "import", "customer/edge-byok", "--key-file", "\(root)/byok.hex", "--json"])
        let importedKey = Self.json(imported.out)
        #expect(imported.status == 0 && importedKey["imported"] as? Bool == true && importedKey["currentVersion"] as? Int == 1, "\(imported)")
        #expect(!imported.out.contains(material) && !imported.err.contains(material))
        let rotated = Self.json(try await atrest(["key", "rotate", "customer/edge-byok", "--key-file", "\(root)/byok.hex", "--json"]).out)
        #expect(rotated["currentVersion"] as? Int == 2, "BYOK rotation: \(rotated)")
        try "too short".write(toFile: "\(root)/short.key", atomically: true, encoding: .utf8)
        let short = try await atrest(["key", "import", "customer/edge-short", "--key-file", "\(root)/short.key"])
        #expect(short.status == 2 && short.err.contains("32-byte") && !short.err.contains("too short"), "\(short)")
        let again = try await atrest(["key", "import", "customer/edge-byok", "--key-file", "\(root)/byok.hex"])
        #expect(again.status == 6, "an existing id: \(again)")

        // Output: no empty file field on put; one metadata syntax; a key given twice is an error.
        let acct = ["--account", "edge-acct"]
        #expect(try await atrest(["container", "create", "docs"] + acct).status == 0)
        try "hello".write(toFile: "\(root)/hello.txt", atomically: true, encoding: .utf8)
        let put = try await atrest(["blob", "put", "docs", "hello.txt", "\(root)/hello.txt", "--metadata", "team=red", "--json"] + acct)
        #expect(put.status == 0 && Self.json(put.out)["file"] == nil && (Self.json(put.out)["metadata"] as? [String]) == ["team=red"], "\(put)")
        let putText = try await atrest(["blob", "put", "docs", "hello2.txt", "\(root)/hello.txt"] + acct)
        #expect(putText.status == 0 && !putText.out.contains("file"), "\(putText.out)")
        let setMeta = try await atrest(["blob", "set-metadata", "docs", "hello.txt", "--metadata", "team=blue", "--metadata", "stage=done", "--json"] + acct)
        #expect(setMeta.status == 0 && (Self.json(setMeta.out)["metadata"] as? [String])?.sorted() == ["stage=done", "team=blue"], "\(setMeta)")
        #expect(try await atrest(["blob", "put", "docs", "x", "\(root)/hello.txt", "--metadata", "a=1", "--metadata", "a=2"] + acct).status == 2)
        let get = try await atrest(["blob", "get", "docs", "hello.txt", "\(root)/back.txt", "--json"] + acct)
        #expect(get.status == 0 && Self.json(get.out)["file"] as? String == "\(root)/back.txt", "\(get)")

        // On a terminal the upload's progress bar ends its line before the result (script(1) gives the CLI a pty).
        try Data(count: 3 << 20).write(to: URL(fileURLWithPath: "\(root)/big.bin"))
        let atrestPath = ServiceProcess.binDirectory.appendingPathComponent("atrest").path
        let tty = try await ClientTools.run("/usr/bin/script", [
            "-qec", "\(atrestPath) blob put docs big.bin \(root)/big.bin --account edge-acct", "/dev/null",
        ], environment: ["ATREST_CONFIG": config], in: root)
        let ttyLines = tty.stdout.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        #expect(tty.status == 0 && tty.stdout.contains("upload [") && tty.stdout.contains("100%"), "\(tty.transcript)")
        #expect(ttyLines.contains { $0.hasPrefix("container") } && !ttyLines.contains { $0.contains("MiB/s") && $0.contains("container") },
                "\(tty.transcript)")

        // A tampered object: exit code 7 (data integrity), also as a --json error.
        let before = Set(cluster.allFiles().filter { $0.contains("/objects/") && $0.split(separator: "/").last!.hasPrefix("o-") })
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: "\(root)/victim.bin"))
        #expect(try await atrest(["blob", "put", "docs", "victim", "\(root)/victim.bin"] + acct).status == 0)
        let new = Set(cluster.allFiles().filter { $0.contains("/objects/") && $0.split(separator: "/").last!.hasPrefix("o-") }).subtracting(before)
        try #require(new.count == 1, "the put made \(new.count) object versions")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: new.first!)))
        bytes[bytes.count - 20] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: new.first!))
        let damaged = try await atrest(["blob", "get", "docs", "victim", "\(root)/victim.out"] + acct)
        #expect(damaged.status == 7 && damaged.err.contains("integrity"), "\(damaged)")
        let damagedJSON = try await atrest(["blob", "get", "docs", "victim", "\(root)/victim.out", "--json"] + acct)
        let damagedError = Self.json(damagedJSON.err)
        #expect(damagedJSON.status == 7 && damagedError["code"] as? String == "DATA_LOSS" && damagedError["exitCode"] as? Int == 7
                && (damagedError["details"] as? [String: String])?["reason"] == "integrity", "\(damagedJSON)")

        // Switching back from a customer key that is disabled names the real cause (the disabled key), then works once enabled.
        #expect(try await atrest(["key", "create", "customer/edge-cmk"]).status == 0)
        #expect(try await atrest(["key", "grant", "customer/edge-cmk", "--account", "edge-acct", "--operations", "wrap,unwrap"]).status == 0)
        let toCustomer = try await atrest(["encryption", "set", "edge-acct", "--key-source", "customer", "--key", "edge-cmk"])
        #expect(toCustomer.status == 0, "\(toCustomer)")
        #expect(try await atrest(["key", "disable", "customer/edge-cmk"]).status == 0)
        let back = try await atrest(["encryption", "set", "edge-acct", "--key-source", "managed"])
        #expect(back.status == 6 && back.err.contains("edge-cmk") && back.err.contains("disabled") && back.err.contains("enable"), "\(back)")
        #expect(try await atrest(["key", "enable", "customer/edge-cmk"]).status == 0)
        #expect(try await atrest(["encryption", "set", "edge-acct", "--key-source", "managed"]).status == 0)

        // user create: no empty generatedSecret with --secret-file; a generated one is shown.
        try "erin-secret-123456".write(toFile: "\(root)/erin.secret", atomically: true, encoding: .utf8)
        let erin = try await atrest(["user", "create", "erin", "--tenant", "t1", "--secret-file", "\(root)/erin.secret", "--json", "--profile", "ops"])
        #expect(erin.status == 0 && Self.json(erin.out)["generatedSecret"] == nil && Self.json(erin.out)["name"] as? String == "erin", "\(erin)")
        let frank = Self.json(try await atrest(["user", "create", "frank", "--tenant", "t1", "--json", "--profile", "ops"]).out)
        #expect((frank["generatedSecret"] as? String)?.isEmpty == false)

        // Lists: the system administrator sees every tenant; a tenant's identity administrator only its own.
        let tenants = Self.rows(try await atrest(["tenant", "list", "--json", "--profile", "ops"]).out).compactMap { $0["tenant"] as? String }
        #expect(Set(["system", "t1", "t2"]).isSubset(of: Set(tenants)), "\(tenants)")
        let users = Self.rows(try await atrest(["user", "list", "--tenant", "t1", "--json", "--profile", "ops"]).out)
        #expect(Set(users.compactMap { $0["name"] as? String }) == ["alice", "bob", "erin", "frank"], "\(users)")
        let roles = Self.rows(try await atrest(["role", "list", "--tenant", "t1", "--json", "--profile", "ops"]).out)
        #expect(roles.contains { $0["name"] as? String == "alice" && $0["role"] as? String == "keyAdministrator" }, "\(roles)")
        #expect(try await atrest(["role", "grant", "identityAdministrator", "--tenant", "t2", "--name", "dave", "--profile", "ops"]).status == 0)
        let daveLogin = try await atrest(["login", "--profile", "dave", "--tenant", "t2", "--user", "dave", "--secret-file", "\(root)/dave.secret"]
                                         + connection)
        #expect(daveLogin.status == 0, "\(daveLogin)")
        let daveTenants = Self.rows(try await atrest(["tenant", "list", "--json"]).out).compactMap { $0["tenant"] as? String }
        #expect(daveTenants == ["t2"], "\(daveTenants)")
        let daveUsers = Self.rows(try await atrest(["user", "list", "--json"]).out)
        #expect(daveUsers.compactMap { $0["name"] as? String } == ["dave"] && daveUsers.allSatisfy { $0["tenant"] as? String == "t2" })
        let crossing = try await atrest(["user", "list", "--tenant", "t1"])
        #expect(crossing.status == 4 && crossing.err.contains("only its own tenant"), "\(crossing)")
        // Administration is tenant-checked too: dave administers t2's principals only, and nothing of the whole directory.
        let foreignUser = try await atrest(["user", "create", "gina", "--tenant", "t1", "--secret-file", "\(root)/erin.secret"])
        #expect(foreignUser.status == 4 && foreignUser.err.contains("only its own tenant"), "\(foreignUser)")
        #expect(try await atrest(["user", "create", "gina", "--tenant", "t2", "--secret-file", "\(root)/erin.secret"]).status == 0)
        let foreignGrant = try await atrest(["role", "grant", "keyAdministrator", "--tenant", "t1", "--name", "alice"])
        #expect(foreignGrant.status == 4 && foreignGrant.err.contains("only in its own tenant"), "\(foreignGrant)")
        let serviceGrant = try await atrest(["role", "grant", "service", "--tenant", "t2", "--name", "gina"])
        #expect(serviceGrant.status == 4 && serviceGrant.err.contains("system tenant"), "\(serviceGrant)")
        #expect(try await atrest(["role", "grant", "keyAdministrator", "--tenant", "t2", "--name", "gina"]).status == 0)
        let newTenant = try await atrest(["tenant", "create", "t9"])
        #expect(newTenant.status == 4 && newTenant.err.contains("system tenant"), "\(newTenant)")
        let daveImport = try await atrest(["key", "import", "customer/dave-byok", "--key-file", "\(root)/byok.hex"])
        #expect(daveImport.status == 4, "not a key administrator: \(daveImport)")
        // Not an identity administrator: refused.
        #expect(try await atrest(["tenant", "list", "--profile", "default"]).status == 4)
    }
}

/// Reads the saved token of a profile straight from the file (to check that no command prints it).
enum CLIConfigFileText {
    static func token(_ path: String, profile: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let profiles = object["profiles"] as? [String: Any], let entry = profiles[profile] as? [String: Any] else { return nil }
        return entry["token"] as? String
    }
}
