import AtRestKeyVault
import AtRestWire
import Testing

/// Principals with the service role (the front door) may create keys in the
/// `managed` provider and grant access on the keys they created, nothing else.
@Suite struct ServiceRoleTests {
    static let frontDoor = VaultCaller(principalID: "frontdoor", tenantID: "system", roles: ["service"])
    static let otherService = VaultCaller(principalID: "worker", tenantID: "system", roles: ["service"])

    func denied(_ body: () throws -> Void) -> Bool {
        do {
            try body()
            return false
        } catch let error as VaultError {
            return error.code == .permissionDenied
        } catch {
            return false
        }
    }

    @Test func aServiceCreatesManagedKeysAndGrantsOnThemOnly() throws {
        let fixture = VaultFixture(providers: [.managed(), .customer()])
        let vault = try fixture.openVault()
        let own = KeyRef(provider: "managed", keyID: "mk-1")
        _ = try vault.createKey(provider: "managed", KeySpec(keyID: "mk-1"), caller: Self.frontDoor)
        let grants = try vault.grantAccess(AccessGrant(key: own, principalID: "mi-1", operations: [.wrap, .unwrap]), caller: Self.frontDoor)
        #expect(grants.map(\.principalID) == ["mi-1"])

        // Not in another provider.
        #expect(denied { _ = try vault.createKey(provider: "customer", KeySpec(keyID: "c-1"), caller: Self.frontDoor) })
        // Not on a key an administrator made, nor on another service's key.
        _ = try vault.createKey(provider: "managed", KeySpec(keyID: "mk-admin"), caller: VaultFixture.admin)
        #expect(denied {
            _ = try vault.grantAccess(AccessGrant(key: KeyRef(provider: "managed", keyID: "mk-admin"), principalID: "frontdoor",
                                                  operations: [.unwrap]), caller: Self.frontDoor)
        })
        #expect(denied {
            _ = try vault.grantAccess(AccessGrant(key: own, principalID: "worker", operations: [.unwrap]), caller: Self.otherService)
        })
        // It may revoke what it granted on its own keys (e.g. when an account goes away) ...
        #expect(try vault.revokeAccess(AccessGrant(key: own, principalID: "mi-1", operations: [.wrap]), caller: Self.frontDoor).map(\.operations) == [[.unwrap]])
        // ... and no other key management: disable, rotate, list; delete only its own key (an account's
        // purge), not the administrator's, and no other service deletes it.
        #expect(denied { _ = try vault.setEnabled(own, false, caller: Self.frontDoor) })
        #expect(denied { _ = try vault.rotateKey(own, caller: Self.frontDoor) })
        #expect(denied { _ = try vault.listKeys(caller: Self.frontDoor) })
        #expect(denied { _ = try vault.deleteKey(KeyRef(provider: "managed", keyID: "mk-admin"), caller: Self.frontDoor) })
        #expect(denied { _ = try vault.deleteKey(own, caller: Self.otherService) })
        #expect(try vault.deleteKey(own, caller: Self.frontDoor).state == .deleted)
        #expect(denied { _ = try vault.recoverKey(own, caller: Self.frontDoor) })
        // A user without roles gets nothing either.
        #expect(denied { _ = try vault.createKey(provider: "managed", KeySpec(keyID: "mk-2"), caller: VaultFixture.app) })
    }

    @Test func theCreatorSurvivesARestart() throws {
        let fixture = VaultFixture(providers: [.managed()])
        let key = KeyRef(provider: "managed", keyID: "mk-r")
        do {
            let vault = try fixture.openVault()
            _ = try vault.createKey(provider: "managed", KeySpec(keyID: "mk-r"), caller: Self.frontDoor)
            try vault.close()
        }
        let reopened = try fixture.openVault()
        _ = try reopened.grantAccess(AccessGrant(key: key, principalID: "mi-r", operations: [.wrap]), caller: Self.frontDoor)
        #expect(denied { _ = try reopened.grantAccess(AccessGrant(key: key, principalID: "x", operations: [.wrap]), caller: Self.otherService) })
    }
}
