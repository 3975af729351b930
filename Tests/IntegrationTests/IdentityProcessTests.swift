import AtRestClient
import AtRestCrypto
import AtRestIdentity
import AtRestKeyVault
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The real atrest-identity process, and tokens checked by the real vault.
@Suite("Identity with real processes", .serialized)
struct IdentityProcessTests {
    @Test func restartKeepsPrincipalsAndTokens() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        _ = try await fixture.adminIdentity.createTenant("acme")
        let user = try await fixture.adminIdentity.createUser(tenant: "acme", name: "alice", secret: "alice-secret-123")
        let before = try await fixture.login(tenant: "acme", "alice", secret: "alice-secret-123")

        try fixture.restartIdentity()
        let after = try await fixture.login(tenant: "acme", "alice", secret: "alice-secret-123")
        let me = try await fixture.identityClient(token: after).whoAmI()
        #expect(me.principalID == user.principal.principalID)
        #expect(me.tenant == "acme")
        // The token issued before the restart still verifies (same signing key).
        let old = try await fixture.identityClient(token: before).whoAmI()
        #expect(old.principalID == user.principal.principalID)
        // Service principal credential files were created once, 0600.
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(fixture.directory)/identity/credentials/worker.secret")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func vaultVerifiesLoginTokensAndRejectsBadOnes() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        // A token from the identity service is accepted by the vault (offline verification).
        let keys = try await fixture.adminVault.listKeys()
        #expect(keys.isEmpty)

        let token = fixture.admin.bearerToken ?? ""
        let parts = token.split(separator: ".").map(String.init)
        var tamperedPayload = Array(parts[1].utf8)
        tamperedPayload[tamperedPayload.count / 2] = tamperedPayload[tamperedPayload.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let header = #"{"alg":"none","typ":"JWT","kid":"x"}"#
        let bad: [(String?, String)] = [
            (nil, "no token"),
            ("garbage", "malformed"),
            ([parts[0], String(decoding: tamperedPayload, as: UTF8.self), parts[2]].joined(separator: "."), "tampered"),
            ([Base64URL.encode(Array(header.utf8)), parts[1], ""].joined(separator: "."), "alg none"),
        ]
        for (candidate, label) in bad {
            let client = try fixture.vaultClient(token: candidate)
            defer { client.base.close() }
            let error = await #expect(throws: RPCStatus.self, "\(label)") { _ = try await client.listKeys() }
            #expect(error?.code == .unauthenticated, "\(label): \(error?.message ?? "")")
        }
        // A user without the key administrator role is authenticated but denied.
        _ = try await fixture.adminIdentity.createTenant("acme")
        _ = try await fixture.adminIdentity.createUser(tenant: "acme", name: "bob", secret: "bob-secret-1234")
        let bob = try fixture.vaultClient(token: try await fixture.login(tenant: "acme", "bob", secret: "bob-secret-1234"))
        defer { bob.base.close() }
        let denied = await #expect(throws: RPCStatus.self) { _ = try await bob.listKeys() }
        #expect(denied?.code == .permissionDenied)
    }

    @Test func rotatedSigningKeyIsFetchedByTheVaultOnUnknownKid() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        _ = try await fixture.adminVault.listKeys()
        _ = try await fixture.adminIdentity.rotateSigningKey()
        let fresh = try await fixture.login("admin", secret: try IdentityVaultFixture.secret(fixture.directory, "admin"))
        let client = try fixture.vaultClient(token: fresh)
        defer { client.base.close() }
        // The new kid is unknown to the vault until it refreshes the key set.
        #expect(try await client.listKeys().isEmpty)
    }
}
