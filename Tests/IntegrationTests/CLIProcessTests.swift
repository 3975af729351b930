import AtRestTesting
import Foundation
import Testing

/// The `atrest` CLI against real identity and vault processes.
@Suite("CLI with real processes", .serialized)
struct CLIProcessTests {
    @Test func loginKeysAuditAndExitCodes() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        let config = "\(fixture.directory)/cli/config.json"
        let env = ["ATREST_CONFIG": config]
        func atrest(_ args: [String], at endpoint: String) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + ["--endpoint", endpoint], environment: env)
        }

        // Not logged in yet: whoami is an auth failure (4).
        #expect(try await atrest(["whoami"], at: fixture.identityEndpoint).status == 4)
        let login = try await atrest(["login", "--user", "admin", "--secret-file", "\(fixture.directory)/identity/credentials/admin.secret"],
                                     at: fixture.identityEndpoint)
        #expect(login.status == 0, "\(login.err)")
        let mode = (try FileManager.default.attributesOfItem(atPath: config)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        let whoami = try await atrest(["whoami", "--json"], at: fixture.identityEndpoint)
        #expect(whoami.status == 0)
        let me = try JSONSerialization.jsonObject(with: Data(whoami.out.utf8)) as? [String: Any]
        #expect(me?["name"] as? String == "admin")
        #expect((me?["roles"] as? [String])?.contains("keyAdministrator") == true)

        #expect(try await atrest(["tenant", "create", "acme"], at: fixture.identityEndpoint).status == 0)
        let user = try await atrest(["user", "create", "carol", "--tenant", "acme", "--json"], at: fixture.identityEndpoint)
        #expect(user.status == 0)
        #expect(try await atrest(["role", "grant", "keyAdministrator", "--tenant", "acme", "--name", "carol"],
                                 at: fixture.identityEndpoint).status == 0)
        // Already exists → 6; bad role → 2.
        #expect(try await atrest(["tenant", "create", "acme"], at: fixture.identityEndpoint).status == 6)
        #expect(try await atrest(["role", "grant", "wizard", "--tenant", "acme", "--name", "carol"], at: fixture.identityEndpoint).status == 2)

        let created = try await atrest(["key", "create", "customer/cli-key", "--json"], at: fixture.vaultEndpoint)
        #expect(created.status == 0, "\(created.err)")
        #expect(created.out.contains("\"currentVersion\" : 1"))
        #expect(try await atrest(["key", "rotate", "cli-key"], at: fixture.vaultEndpoint).status == 0)
        let list = try await atrest(["key", "list"], at: fixture.vaultEndpoint)
        #expect(list.out.contains("customer/cli-key") && list.out.contains("enabled"))
        #expect(try await atrest(["key", "disable", "cli-key"], at: fixture.vaultEndpoint).status == 0)
        #expect(try await atrest(["key", "show", "cli-key"], at: fixture.vaultEndpoint).out.contains("disabled"))
        #expect(try await atrest(["key", "show", "missing"], at: fixture.vaultEndpoint).status == 3)
        // Purging a key that is not deleted: the provider answers INVALID_ARGUMENT (2), naming the key.
        let purge = try await atrest(["key", "purge", "cli-key"], at: fixture.vaultEndpoint)
        #expect(purge.status == 2 && purge.err.contains("must be deleted before it is purged"))
        #expect(try await atrest(["key", "bogus-verb"], at: fixture.vaultEndpoint).status == 2)

        // Grants by account: granted, listed, revoked by account; revoking again is an error (3: not found).
        _ = try await fixture.managedIdentityToken(account: "acct-cli", tenant: "system")
        #expect(try await atrest(["key", "enable", "cli-key"], at: fixture.vaultEndpoint).status == 0)
        let grant = try await atrest(["key", "grant", "cli-key", "--account", "acct-cli", "--operations", "wrap,unwrap"], at: fixture.vaultEndpoint)
        #expect(grant.status == 0, "\(grant.err)")
        let grants = try await atrest(["key", "grants", "cli-key"], at: fixture.vaultEndpoint)
        #expect(grants.status == 0 && grants.out.contains("acct-cli") && grants.out.contains("unwrap,wrap"), "\(grants.out)")
        let revoke = try await atrest(["key", "revoke", "cli-key", "--account", "acct-cli"], at: fixture.vaultEndpoint)
        #expect(revoke.status == 0, "\(revoke.err)")
        #expect(!(try await atrest(["key", "grants", "cli-key"], at: fixture.vaultEndpoint)).out.contains("acct-cli"))
        let again = try await atrest(["key", "revoke", "cli-key", "--account", "acct-cli"], at: fixture.vaultEndpoint)
        #expect(again.status == 3 && again.err.contains("has no grant"), "\(again.err)")
        #expect(try await atrest(["key", "disable", "cli-key"], at: fixture.vaultEndpoint).status == 0)

        let audit = try await atrest(["audit", "show", "--json"], at: fixture.vaultEndpoint)
        #expect(audit.status == 0)
        #expect(audit.out.contains("DisableKey"))
        // The admin's tenant is stored hashed and shown to the admin by name.
        let shown = (try JSONSerialization.jsonObject(with: Data(audit.out.utf8)) as? [[String: Any]]) ?? []
        #expect(!shown.isEmpty && shown.allSatisfy { $0["tenant"] as? String == "system" }, "\(audit.out.prefix(400))")
        let stored = try String(contentsOfFile: "\(fixture.directory)/vault/audit.log", encoding: .utf8)
        #expect(!stored.contains("\tsystem\t") && stored.contains("\ttenant~"))
        let verify = try await atrest(["audit", "verify"], at: fixture.vaultEndpoint)
        #expect(verify.status == 0)
        #expect(verify.out.contains("intact") && verify.out.contains("yes"))

        // Nothing listening: unavailable/deadline (5).
        let dead = try await runTool("atrest", ["key", "list", "--endpoint", "tcp://127.0.0.1:1", "--timeout", "0.5"], environment: env)
        #expect(dead.status == 5)
    }

    @Test func auditVerifyFailsAfterTampering() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        let env = ["ATREST_CONFIG": "\(fixture.directory)/cli/config.json"]
        let login = try await runTool("atrest", ["login", "--user", "admin", "--secret-file",
                                                 "\(fixture.directory)/identity/credentials/admin.secret",
                                                 "--endpoint", fixture.identityEndpoint], environment: env)
        #expect(login.status == 0)
        for id in ["t1", "t2", "t3"] {
            #expect(try await runTool("atrest", ["key", "create", id, "--endpoint", fixture.vaultEndpoint], environment: env).status == 0)
        }
        // Edit one entry on disk (the vault appends to the same file).
        let path = "\(fixture.directory)/vault/audit.log"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let text = original.replacingOccurrences(of: ".t2\t", with: ".t9\t")
        #expect(text != original)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let verify = try await runTool("atrest", ["audit", "verify", "--endpoint", fixture.vaultEndpoint], environment: env)
        #expect(verify.status == 6)
        #expect(verify.err.contains("does not verify"))
    }
}
