import AtRestClient
import AtRestKeyVault
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Encryption scopes through the real processes: two scopes in one account
/// (one on the account's managed key, one on a customer key), blobs under
/// each and under the account's current key; disabling the customer key
/// blocks exactly its scope's blobs, disabling a scope blocks exactly its
/// own; container defaults and enforcement; who may manage and see scopes.
@Suite(.serialized) struct EncryptionScopeTests {
    @Test func scopesChooseKeysAndBlockExactlyTheirOwnData() async throws {
        let cluster = try LocalCluster(.init(rootTag: "scopes", workers: 1))
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let admin = try await cluster.adminIdentity()
        let c = cluster.client
        let account = "acct-s"
        let info = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: account), as: AccountInfo.self, metadata: alice).message
        _ = try await admin.grantRole(IdentityRoleRequest(tenant: "t1", name: "bob", role: "accountReader:\(account)"))
        let bob = try await cluster.login(tenant: "t1", "bob", "bob-secret-123456")
        _ = try await admin.createTenant("t2")
        _ = try await admin.createUser(tenant: "t2", name: "carol", secret: "carol-secret-123456")
        let carol = try await cluster.login(tenant: "t2", "carol", "carol-secret-123456")

        // A customer key the account's identity may use, and one it may not.
        let customer = KeyRef(provider: "customer", keyID: "cmks")
        for key in ["cmks", "ungranted"] {
            _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: key)), as: KeyResponse.self, metadata: alice)
        }
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: customer, principalID: info.managedIdentity, operations: [.wrap, .unwrap])),
                             as: AccessResponse.self, metadata: alice)

        func createScope(_ name: String, _ source: String, key: String = "", as caller: [String: String]) async throws -> EncryptionScope {
            try await c.call(AccountMethod.createScope.name, request: AccountScopeCreateRequest(accountID: account, scope: name, keySource: source, keyID: key),
                             as: EncryptionScope.self, metadata: caller).message
        }
        let gold = try await createScope("gold", "managed", as: alice)
        let cust = try await createScope("cust", "customer", key: "cmks", as: alice)
        #expect(gold.keySource == "managed" && gold.provider == "managed" && gold.keyID == info.encryption.keyID && gold.state == "enabled")
        #expect(cust.keySource == "customer" && cust.provider == "customer" && cust.keyID.hasSuffix(".cmks"))
        // Each scope key has its own account-key version, distinct from the current key's.
        let versions = [info.encryption.accountKeyVersion, gold.accountKeyVersion, cust.accountKeyVersion]
        #expect(Set(versions).count == 3, "\(versions)")

        // Refusals: bad names, duplicates, a key without grants, a reader, another tenant.
        await expectCode(.invalidArgument, contains: "scope names") { _ = try await createScope("No_Caps", "managed", as: alice) }
        await expectCode(.invalidArgument, contains: "scope names") { _ = try await createScope("ab", "managed", as: alice) }
        await expectCode(.alreadyExists) { _ = try await createScope("gold", "managed", as: alice) }
        await expectCode(.invalidArgument, contains: "key source") { _ = try await createScope("other", "none", as: alice) }
        await expectCode(.permissionDenied, contains: "wrap") { _ = try await createScope("other", "customer", key: "ungranted", as: alice) }
        await expectCode(.permissionDenied) { _ = try await createScope("bobs", "managed", as: bob) }
        // Another tenant's user: as if the account did not exist.
        await expectCode(.notFound, contains: "does not exist") { _ = try await createScope("carols", "managed", as: carol) }
        let listed = try await c.call(AccountMethod.listScopes.name, request: AccountRequest(accountID: account), as: AccountScopeListResponse.self, metadata: bob).message
        #expect(listed.scopes.map(\.name) == ["gold", "cust"])
        #expect(try await c.call(AccountMethod.getScope.name, request: AccountScopeRequest(accountID: account, scope: "cust"), as: EncryptionScope.self, metadata: bob).message == cust)
        await expectCode(.permissionDenied) {
            _ = try await c.call(AccountMethod.listScopes.name, request: AccountRequest(accountID: account), as: AccountScopeListResponse.self, metadata: carol)
        }
        await expectCode(.permissionDenied) {
            _ = try await c.call(AccountMethod.getScope.name, request: AccountScopeRequest(accountID: account, scope: "gold"), as: EncryptionScope.self, metadata: carol)
        }
        await expectCode(.permissionDenied) {
            _ = try await c.call(AccountMethod.disableScope.name, request: AccountScopeRequest(accountID: account, scope: "gold"), as: EncryptionScope.self, metadata: bob)
        }
        await expectCode(.notFound) {
            _ = try await c.call(AccountMethod.getScope.name, request: AccountScopeRequest(accountID: account, scope: "nope"), as: EncryptionScope.self, metadata: alice)
        }

        // Containers: none, default gold enforced, default cust not enforced.
        let m = alice.merging(["account": account]) { $1 }
        func container(_ name: String, _ scope: String = "", enforce: Bool = false) async throws {
            _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: name, defaultScope: scope, enforceScope: enforce),
                                 as: EmptyMessage.self, metadata: m)
        }
        try await container("plain")
        try await container("gold-c", "gold", enforce: true)
        try await container("cust-c", "cust")
        await expectCode(.notFound, contains: "scope 'nope'") { try await container("nope-c", "nope") }
        await expectCode(.invalidArgument, contains: "enforce") { try await container("bad-c", enforce: true) }
        func put(_ container: String, _ name: String, scope: String = "") async throws -> [UInt8] {
            var request = BlobPutRequest(container: container, name: name)
            request.scope = scope
            let data = Array("\(container)/\(name) secret".utf8)
            _ = try await c.call(BlobMethod.put.name, request: request, as: BlobProperties.self, payload: [data], metadata: m)
            return data
        }
        func get(_ container: String, _ name: String) async throws -> [UInt8] {
            try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: container, name: name), as: BlobGetResponse.self, metadata: m).payload.flatMap { $0 }
        }
        // Which key each blob is under: the account's current key (a), gold (b, d, f), cust (c, e).
        var stored: [String: (container: String, name: String, data: [UInt8])] = [:]
        for (label, container, scope) in [("a", "plain", ""), ("b", "plain", "gold"), ("c", "plain", "cust"), ("d", "gold-c", ""),
                                          ("e", "cust-c", ""), ("f", "cust-c", "gold"), ("g", "gold-c", "gold")] {
            stored[label] = (container, label, try await put(container, label, scope: scope))
        }
        // Staged blocks under a named scope (the blocks and the block list).
        let token = try await cluster.token(tenant: "t1", "alice", "alice-secret-123456")
        var blocks = BlobClient(ServiceClient(rpc: c, token: token), account: account,
                                options: BlobTransferOptions(singlePutThreshold: 1024, blockSize: 4096))
        blocks.options.scope = "cust"
        let big = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        _ = try await blocks.upload("plain", "big", data: big)
        stored["big"] = ("plain", "big", big)
        await expectCode(.failedPrecondition, contains: "enforces encryption scope 'gold'", reason: "scopeEnforced") { _ = try await put("gold-c", "x", scope: "cust") }
        await expectCode(.notFound, contains: "scope 'nope'") { _ = try await put("plain", "x", scope: "nope") }
        for (label, blob) in stored { #expect(try await get(blob.container, blob.name) == blob.data, "\(label)") }

        // Headers record each scope's version and KEK; nothing is stored in clear.
        let headers = try Self.headers(cluster.objectsDirectory)
        #expect(headers.filter { $0.accountKeyVersion == cust.accountKeyVersion }.allSatisfy { $0.keyID == cust.keyID && $0.provider == "customer" })
        #expect(headers.filter { $0.accountKeyVersion == gold.accountKeyVersion }.allSatisfy { $0.keyID == gold.keyID })
        // gold: b, d, f, g; cust: c, e and big's 5 blocks and block list.
        #expect(headers.filter { $0.accountKeyVersion == gold.accountKeyVersion }.count == 4)
        #expect(headers.filter { $0.accountKeyVersion == cust.accountKeyVersion }.count == 2 + 5 + 1)
        #expect(try ReplicaScan.find(marker: Array("secret".utf8), in: Self.files(cluster.objectsDirectory)).isEmpty)

        let custLabels: Set<String> = ["c", "e", "big"]
        let goldLabels: Set<String> = ["b", "d", "f", "g"]
        func expectOnly(_ blocked: Set<String>, blockedBy check: (String, () async throws -> Void) async -> Void) async throws {
            for (label, blob) in stored.sorted(by: { $0.key < $1.key }) {
                if blocked.contains(label) {
                    await check(label) { _ = try await get(blob.container, blob.name) }
                } else {
                    #expect(try await get(blob.container, blob.name) == blob.data, "\(label) should stay readable")
                }
            }
        }

        // The customer key disabled: exactly the cust scope's blobs fail (the revocation path), the rest read and write.
        _ = try await c.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(customer), as: KeyResponse.self, metadata: alice)
        try await eventually {
            do { _ = try await get("plain", "c"); throw RPCStatus(.unavailable, "still readable") } catch let status as RPCStatus where status.code == .failedPrecondition {}
        }
        try await expectOnly(custLabels) { label, read in await expectCode(.failedPrecondition, contains: "not accessible", read) }
        await expectCode(.failedPrecondition, contains: "not accessible") { _ = try await put("cust-c", "h") }
        _ = try await put("plain", "h")
        _ = try await put("cust-c", "h", scope: "gold")
        _ = try await c.call("atrest.v1.KeyVault/EnableKey", request: KeyRequest(customer), as: KeyResponse.self, metadata: alice)
        try await eventually {
            guard try await get("plain", "c") == stored["c"]!.data else { throw RPCStatus(.notFound, "not back yet") }
        }
        try await expectOnly([]) { _, _ in }

        // A scope disabled: exactly its blobs fail, naming the scope; enabled again, they read.
        let disabled = try await c.call(AccountMethod.disableScope.name, request: AccountScopeRequest(accountID: account, scope: "gold"), as: EncryptionScope.self, metadata: alice).message
        #expect(disabled.state == "disabled")
        try await expectOnly(goldLabels) { label, read in await expectCode(.failedPrecondition, contains: "scope 'gold'", reason: "scopeDisabled", read) }
        await expectCode(.failedPrecondition, contains: "scope 'gold'") { _ = try await put("plain", "i", scope: "gold") }
        await expectCode(.failedPrecondition, contains: "scope 'gold'") { _ = try await put("gold-c", "i") }
        _ = try await put("cust-c", "i")
        let enabled = try await c.call(AccountMethod.enableScope.name, request: AccountScopeRequest(accountID: account, scope: "gold"), as: EncryptionScope.self, metadata: alice).message
        #expect(enabled.state == "enabled")
        try await expectOnly([]) { _, _ in }
        _ = try await put("gold-c", "i")

        // The CLI verbs, as alice.
        let env = ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"]
        func atrest(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + ["--endpoint", cluster.frontDoor.endpoint], environment: env)
        }
        func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
        try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
        #expect(try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret"]).status == 0)
        let made = try await atrest(["scope", "create", account, "silver", "--key-source", "managed", "--json"])
        #expect(made.status == 0, "\(made.err)")
        #expect(json(made.out)["scope"] as? String == "silver" && json(made.out)["state"] as? String == "enabled")
        #expect(try await atrest(["scope", "create", account, "silver2", "--key-source", "customer"]).status == 2)
        #expect(try await atrest(["scope", "create", account, "silver", "--key-source", "managed"]).status == 6)
        let rows = (try? JSONSerialization.jsonObject(with: Data(try await atrest(["scope", "list", account, "--json"]).out.utf8))) as? [[String: Any]] ?? []
        #expect(rows.compactMap { $0["scope"] as? String } == ["gold", "cust", "silver"])
        #expect(json(try await atrest(["scope", "show", account, "cust", "--json"]).out)["key"] as? String == "customer/\(cust.keyID)")
        let acct = ["--account", account]
        #expect(try await atrest(["container", "create", "scoped-c", "--scope", "silver", "--enforce-scope"] + acct).status == 0)
        let file = "\(cluster.root)/small.txt"
        try "scoped".write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try await atrest(["blob", "put", "scoped-c", "x", file, "--scope", "gold"] + acct)
        #expect(refused.status == 6 && refused.err.contains("enforces encryption scope 'silver'"), "\(refused)")
        #expect(try await atrest(["blob", "put", "scoped-c", "x", file, "--scope", "silver"] + acct).status == 0)
        #expect(json(try await atrest(["scope", "disable", account, "silver", "--json"]).out)["state"] as? String == "disabled")
        let blocked = try await atrest(["blob", "get", "scoped-c", "x", "-"] + acct)
        #expect(blocked.status == 6 && blocked.err.contains("scope 'silver'"), "\(blocked)")
        #expect(try await atrest(["scope", "enable", account, "silver"]).status == 0)
        #expect(try await atrest(["blob", "get", "scoped-c", "x", "-"] + acct).out == "scoped")
    }

    struct Header { var provider: String; var keyID: String; var accountKeyVersion: UInt32 }

    static func files(_ directory: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        return walker.compactMap { $0 as? String }.map { "\(directory)/\($0)" }.filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    /// The clear fixed headers (docs/FORMAT.md) of every object file under `directory`.
    static func headers(_ directory: String) throws -> [Header] {
        try files(directory).compactMap { path in
            guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? handle.close() }
            let bytes = [UInt8](try handle.read(upToCount: 600) ?? Data())
            guard bytes.count > 20, bytes.prefix(4) == [UInt8]("ATRS".utf8)[...] else { return nil }
            var at = 10
            func string() -> String {
                let n = Int(bytes[at]); defer { at += 1 + n }
                return String(decoding: bytes[(at + 1)..<(at + 1 + n)], as: UTF8.self)
            }
            let provider = string()
            let keyID = string()
            at += 4
            let version = bytes[at..<(at + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            return Header(provider: provider, keyID: keyID, accountKeyVersion: version)
        }
    }
}
