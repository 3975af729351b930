import AtRestCrypto
import AtRestLocalState
import AtRestWire
import Glibc
import Testing
@testable import AtRestIdentity
import AtRestTokens

/// Persistence, rotation, roles, managed identities and account moves.
@Suite struct ServiceTests {
    @Test func restartKeepsTenantsPrincipalsGrantsAndKeys() async throws {
        let clock = TestClock()
        let first = try await Harness(clock: clock)
        let alice = try await first.makeUser(tenant: "contoso", name: "alice", secret: "alice-secret-123")
        let admin = try await first.adminToken()
        let _: IdentityPrincipal = try await first.call("GrantRole", IdentityRoleRequest(principalID: alice.principalID, role: "accountOwner:acct1"), token: admin)
        let oldToken = try await first.login(tenant: "contoso", "alice", "alice-secret-123").token
        let keysBefore = await first.keys()

        let second = try await Harness(dir: first.dir, clock: clock)
        #expect(await second.keys() == keysBefore)
        // Tokens issued before the restart still verify; the user can still log in, with the grant.
        let verifier = try await second.frontDoorVerifier()
        #expect(try await verifier.verify(oldToken).subject == alice.principalID)
        let claims = try await verifier.verify(try await second.login(tenant: "contoso", "alice", "alice-secret-123").token)
        #expect(claims.has(.accountOwner("acct1")))
        // The admin secret file was not regenerated.
        #expect(try second.fileSecret("admin") == (try first.fileSecret("admin")))
        // The tenant is still there.
        let again = await status { let _: IdentityTenant = try await second.call("CreateTenant", IdentityCreateTenantRequest(tenant: "contoso"), token: try await second.adminToken()) }
        #expect(again?.code == .alreadyExists)
    }

    @Test func nothingSecretIsInClearInTheDataDirectory() async throws {
        let h = try await Harness()
        let secret = "very-distinct-user-secret-4711"
        try await h.makeUser(tenant: "contoso", name: "carol-the-user", secret: secret)
        let seed = await h.service.currentIssuer().key.rawRepresentation.withUnsafeBytes { Array($0) }
        let state = try #require(try LocalFile.read("\(h.dir)/identity.state"))
        #expect(state.count > 100)
        for needle in [Array(secret.utf8), seed, Array(Base64URL.encode(seed).utf8), Array("carol-the-user".utf8), Array("pbkdf2".utf8)] {
            #expect(!Self.contains(state, needle))
        }
        // Every file is private to the owner.
        for path in ["identity.state", "root.key", "credentials/admin.secret", "credentials/frontdoor.secret"] {
            var info = stat()
            #expect(stat("\(h.dir)/\(path)", &info) == 0)
            #expect(info.st_mode & 0o077 == 0, "\(path) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        // No file in the directory holds the user secret or the signing key.
        let files = ["identity.state", "root.key", "credentials/admin.secret", "credentials/frontdoor.secret"]
        for file in files {
            let bytes = try #require(try LocalFile.read("\(h.dir)/\(file)"))
            #expect(!Self.contains(bytes, Array(secret.utf8)) && !Self.contains(bytes, seed))
        }
    }

    @Test func aMissingOrWrongRootKeyFailsClearly() async throws {
        let h = try await Harness()
        let dir = h.dir
        #expect(unlink("\(dir)/root.key") == 0)
        do {
            _ = try await Harness(dir: dir)
            Issue.record("opened the state without its root key")
        } catch let error as IdentityError {
            #expect(error.description.contains("root key"))
            #expect(error.description.contains("missing"))
        }
        #expect(try LocalFile.createExclusive(Array((Hex.encode(try SecureRandom.bytes(32)) + "\n").utf8), at: "\(dir)/root.key"))
        do {
            _ = try await Harness(dir: dir)
            Issue.record("opened the state with another root key")
        } catch let error as IdentityError {
            #expect(error.description.contains("cannot be opened with the configured identity root key"))
        }
    }

    @Test func rotationKeepsOldTokensValidUntilTheyExpire() async throws {
        let h = try await Harness()
        let admin = try await h.adminToken()
        let verifier = try await h.frontDoorVerifier()
        let before = await h.keys()
        let rotation: IdentityRotation = try await h.call("RotateSigningKey", EmptyMessage(), token: admin)
        #expect(rotation.retiredKid == before.activeKid)
        #expect(rotation.activeKid != before.activeKid)
        let after = await h.keys()
        #expect(Set(after.keys.map(\.kid)) == [before.activeKid, rotation.activeKid])
        // The old token (old kid) and a new one (new kid) both verify.
        #expect(try await verifier.verify(admin).name == "admin")
        let newToken = try await h.adminToken()
        #expect(newToken.split(separator: ".")[0] != admin.split(separator: ".")[0])
        #expect(try await verifier.verify(newToken).name == "admin")
        // The service itself accepts the old token too.
        let _: IdentityWhoAmI = try await h.call("WhoAmI", EmptyMessage(), token: admin)
        // After the old tokens' lifetime the old key is no longer published.
        h.clock.advance(3600 + 61)
        #expect(await h.keys().keys.map(\.kid) == [rotation.activeKid])
        // Rotation survives a restart.
        let restarted = try await Harness(dir: h.dir, clock: h.clock)
        #expect(await restarted.keys().activeKid == rotation.activeKid)
    }

    @Test func adminMethodsNeedTheRightRole() async throws {
        let h = try await Harness()
        try await h.makeUser(tenant: "contoso", name: "alice", secret: "alice-secret-123")
        let alice = try await h.login(tenant: "contoso", "alice", "alice-secret-123").token
        let denied = await status { let _: IdentityTenant = try await h.call("CreateTenant", IdentityCreateTenantRequest(tenant: "x"), token: alice) }
        #expect(denied?.code == .permissionDenied)
        #expect(denied?.message.contains("needs role identityAdministrator") == true)
        let anonymous = await status { let _: IdentityTenant = try await h.call("CreateTenant", IdentityCreateTenantRequest(tenant: "x")) }
        #expect(anonymous?.code == .unauthenticated)
        let rotate = await status { let _: IdentityRotation = try await h.call("RotateSigningKey", EmptyMessage(), token: alice) }
        #expect(rotate?.code == .permissionDenied)
        let mi = await status { let _: IdentityManagedIdentity = try await h.call("CreateManagedIdentity", IdentityAccountRequest(accountID: "a", tenant: "contoso"), token: try await h.adminToken()) }
        #expect(mi?.code == .permissionDenied)
        let badRole = await status { let _: IdentityPrincipal = try await h.call("GrantRole", IdentityRoleRequest(tenant: "contoso", name: "alice", role: "root"), token: try await h.adminToken()) }
        #expect(badRole?.code == .invalidArgument)
        #expect(badRole?.message.contains("accountOwner:<account>") == true)
        let badName = await status { let _: IdentityTenant = try await h.call("CreateTenant", IdentityCreateTenantRequest(tenant: "a/b"), token: try await h.adminToken()) }
        #expect(badName?.code == .invalidArgument)
    }

    @Test func grantAndRevokeChangeTheRolesInNewTokens() async throws {
        let h = try await Harness()
        try await h.makeUser(tenant: "contoso", name: "alice", secret: "alice-secret-123")
        let admin = try await h.adminToken()
        let granted: IdentityPrincipal = try await h.call("GrantRole", IdentityRoleRequest(tenant: "contoso", name: "alice", role: "keyAdministrator"), token: admin)
        #expect(granted.roles == ["keyAdministrator"])
        let verifier = try await h.frontDoorVerifier()
        #expect(try await verifier.verify(try await h.login(tenant: "contoso", "alice", "alice-secret-123").token).has(.keyAdministrator))
        let revoked: IdentityPrincipal = try await h.call("RevokeRole", IdentityRoleRequest(principalID: granted.principalID, role: "keyAdministrator"), token: admin)
        #expect(revoked.roles.isEmpty)
        #expect(!(try await verifier.verify(try await h.login(tenant: "contoso", "alice", "alice-secret-123").token).has(.keyAdministrator)))
        // Generated secrets are returned once and work.
        let created: IdentityCreatedPrincipal = try await h.call("CreateUser", IdentityCreateUserRequest(tenant: "contoso", name: "dave"), token: admin)
        #expect(created.generatedSecret.count == 43)
        #expect(try await h.login(tenant: "contoso", "dave", created.generatedSecret).principalID == created.principal.principalID)
        let sp: IdentityCreatedPrincipal = try await h.call("CreateServicePrincipal", IdentityCreateServicePrincipalRequest(name: "vault"), token: admin)
        #expect(sp.principal.roles == ["service"])
        #expect(try await verifier.verify(try await h.login("vault", sp.generatedSecret).token).has(.service))
    }

    /// No token larger than the services accept is issued: the grant that
    /// would make a principal's token too large is refused with the reason
    /// (before it is stored), and the principal keeps logging in with a
    /// token a verifier takes. (A user owning a few hundred accounts.)
    @Test func noGrantMakesATokenLargerThanTheServicesAccept() async throws {
        let h = try await Harness()
        try await h.makeUser(tenant: "contoso", name: "alice", secret: "alice-secret-123")
        let admin = try await h.adminToken()
        var granted = 0
        var refusal: RPCStatus?
        while granted < 1000, refusal == nil {
            refusal = await status {
                let _: IdentityPrincipal = try await h.call("GrantRole", IdentityRoleRequest(
                    tenant: "contoso", name: "alice", role: "accountOwner:account-\(granted)-of-the-contoso-finance-department"), token: admin)
                granted += 1
                throw RPCStatus(.ok)
            }
            if refusal?.code == .ok { refusal = nil }
        }
        #expect(refusal?.code == .failedPrecondition && refusal?.details["reason"] == "tokenTooLarge", "\(String(describing: refusal))")
        #expect(refusal?.message.contains("more than the 8192 bytes the AtRest services accept") == true, "\(refusal?.message ?? "")")
        #expect(granted > 50 && granted < 1000, "\(granted) roles granted")
        let token = try await h.login(tenant: "contoso", "alice", "alice-secret-123").token
        #expect(token.utf8.count <= 8192 && token.utf8.count > 8192 - 300, "\(token.utf8.count) bytes")
        let claims = try await h.frontDoorVerifier().verify(token)
        #expect(claims.roles.count == granted, "the refused role was not stored")
    }

    @Test func managedIdentityTokensAndAccountMoveBreakOldGrants() async throws {
        let h = try await Harness()
        let admin = try await h.adminToken()
        let service = try await h.serviceToken()
        for tenant in ["contoso", "fabrikam"] {
            let _: IdentityTenant = try await h.call("CreateTenant", IdentityCreateTenantRequest(tenant: tenant), token: admin)
        }
        let identity: IdentityManagedIdentity = try await h.call("CreateManagedIdentity", IdentityAccountRequest(accountID: "acct1", tenant: "contoso"), token: service)
        #expect(identity.tenant == "contoso" && identity.accountID == "acct1")
        // Idempotent for the same tenant.
        let again: IdentityManagedIdentity = try await h.call("CreateManagedIdentity", IdentityAccountRequest(accountID: "acct1", tenant: "contoso"), token: service)
        #expect(again == identity)

        let verifier = try await h.frontDoorVerifier()
        let miToken: IdentityToken = try await h.call("ManagedIdentityToken", IdentityAccountRequest(accountID: "acct1"), token: service)
        let claims = try await verifier.verify(miToken.token)
        #expect(claims.subject == identity.principalID && claims.tenant == "contoso" && claims.accountID == "acct1")
        #expect(claims.has(.accountIdentity("acct1")))
        // A user cannot get a managed identity token.
        try await h.makeUser(tenant: "contoso", name: "alice", secret: "alice-secret-123")
        let alice = try await h.login(tenant: "contoso", "alice", "alice-secret-123").token
        #expect(await status { let _: IdentityToken = try await h.call("ManagedIdentityToken", IdentityAccountRequest(accountID: "acct1"), token: alice) }?.code == .permissionDenied)

        // The vault grants a key to the identity as it is now; the grant holds.
        let grant = ManagedIdentityGrant(identity)
        try grant.check(claims, keyName: "cmk-1")

        // Only a service moves accounts (the front door's Account/Move, which then tells the vault).
        #expect(await status { let _: IdentityMoveAccountReply = try await h.call("MoveAccount", IdentityMoveAccountRequest(accountID: "acct1", newTenant: "fabrikam"), token: admin) }?.code == .permissionDenied)
        let moved: IdentityMoveAccountReply = try await h.call("MoveAccount", IdentityMoveAccountRequest(accountID: "acct1", newTenant: "fabrikam"), token: service)
        #expect(moved.previousTenant == "contoso")
        #expect(moved.identity.tenant == "fabrikam" && moved.identity.principalID == identity.principalID)
        #expect(moved.notice.contains("re-grant"))

        let newToken: IdentityToken = try await h.call("ManagedIdentityToken", IdentityAccountRequest(accountID: "acct1"), token: service)
        let newClaims = try await verifier.verify(newToken.token)
        #expect(newClaims.tenant == "fabrikam")
        let broken = await status { try grant.check(newClaims, keyName: "cmk-1") }
        #expect(broken?.code == .failedPrecondition)
        #expect(broken?.details["reason"] == "grantTenantMismatch")
        let message = broken?.message ?? ""
        #expect(message.contains("granted to the managed identity '\(identity.principalID)' of account 'acct1' in tenant 'contoso'"))
        #expect(message.contains("now belongs to tenant 'fabrikam'"))
        #expect(message.contains("re-grant key 'cmk-1' to account 'acct1''s managed identity in tenant 'fabrikam'"))
        // The online check (AccountIdentity) says the same.
        let current: IdentityManagedIdentity = try await h.call("AccountIdentity", IdentityAccountRequest(accountID: "acct1"), token: service)
        #expect(await status { try grant.check(current: current, keyName: "cmk-1") }?.details["reason"] == "grantTenantMismatch")
        // Re-granting for the new tenant repairs it.
        try ManagedIdentityGrant(current).check(newClaims, keyName: "cmk-1")
        // Another principal is simply denied.
        #expect(await status { try grant.check(try await verifier.verify(alice), keyName: "cmk-1") }?.code == .permissionDenied)
    }

    @Test func wireMessagesRoundTrip() throws {
        let set = IdentityKeySet(keys: [IdentitySigningKey(kid: "k1", x: "abc", publishedUntilUnix: 5)], issuer: "i", activeKid: "k1")
        #expect(try IdentityKeySet(serialized: set.serialized()) == set)
        let created = IdentityCreatedPrincipal(principal: IdentityPrincipal(principalID: "usr_1", kind: "user", tenant: "t", name: "n",
                                                                             roles: ["service", "accountOwner:a"], accountID: "", createdAtUnix: 9),
                                               generatedSecret: "s")
        #expect(try IdentityCreatedPrincipal(serialized: created.serialized()) == created)
        let move = IdentityMoveAccountReply(identity: IdentityManagedIdentity(principalID: "mi_1", accountID: "a", tenant: "t", createdAtUnix: 1),
                                            previousTenant: "p", notice: "n")
        #expect(try IdentityMoveAccountReply(serialized: move.serialized()) == move)
        let who = IdentityWhoAmI(principalID: "p", tenant: "t", roles: ["service"], kind: "service", name: "n", issuer: "i",
                                 audience: "a", expiresAtUnix: -1, tokenID: "j", accountID: "")
        #expect(try IdentityWhoAmI(serialized: who.serialized()) == who)
        #expect(throws: WireError.self) { try IdentityLoginRequest(serialized: [0x0a, 50, 1]) }
    }

    @Test func garbageRequestBodiesAreInvalidArgument() async throws {
        let h = try await Harness()
        let response = await status {
            _ = try await h.router.handle(RPCRequest(header: RPCHeader(method: "atrest.v1.Identity/Login"), body: [0x0a, 0xff, 0x01]))
        }
        #expect(response?.code == .invalidArgument)
        let empty = await status { _ = try await h.login("", "") }
        #expect(empty?.code == .invalidArgument)
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
