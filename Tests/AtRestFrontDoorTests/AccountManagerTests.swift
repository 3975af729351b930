import AtRestClient
import AtRestKeyVault
import AtRestWire
import Testing
@testable import AtRestFrontDoor
import AtRestTokens

/// Account creation, key switches, re-wrap after rotation and moves between
/// tenants, against the real identity service and key vault in this process.
@Suite(.serialized) struct AccountManagerTests {
    func status(_ body: () async throws -> Void) async -> RPCStatus? {
        do { try await body() } catch let status as RPCStatus { return status } catch { return RPCStatus(.unknown, "\(error)") }
        return nil
    }

    /// `t<12 hex>.<name>`: the tenant's tag and the name.
    func split(_ keyID: String) -> (tag: String, name: String)? {
        let parts = keyID.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0].count == 13, parts[0].first == "t",
              parts[0].dropFirst().allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return (parts[0], parts[1])
    }

    func plane(tenants: [String] = ["t1"]) async throws -> InProcessControlPlane {
        let plane = try await InProcessControlPlane()
        for tenant in tenants { _ = try await plane.adminIdentity.createTenant(tenant) }
        return plane
    }

    @Test func createMakesIdentityManagedKeyWrappedKeyAndReference() async throws {
        let plane = try await plane()
        let record = try await plane.manager.create("acct-1", owner: InProcessControlPlane.owner(tenant: "t1"))
        #expect(record.info.tenant == "t1" && record.info.owners == ["usr_alice"])
        #expect(record.info.encryption.keySource == "managed" && record.info.encryption.provider == "managed")
        // A random managed key of the account's tenant: the account name is not in it.
        let managed = try #require(split(record.managedKeyID))
        #expect(managed.name.hasPrefix("mk-") && managed.name.count == 3 + 24 && !record.managedKeyID.contains("acct-1"))
        #expect(record.info.encryption.keyID == record.managedKeyID && record.info.encryption.keyVersion == 1)
        #expect(record.registered == KeyRef(provider: "managed", keyID: record.managedKeyID, version: 1))
        #expect(plane.registry.record("acct-1") == record)

        let identity = try await plane.manager.serviceIdentityClient().accountIdentity(account: "acct-1")
        #expect(identity.principalID == record.info.managedIdentity && identity.tenant == "t1")
        let key = KeyRef(provider: "managed", keyID: record.managedKeyID)
        #expect(try await plane.adminVault.getKey(key).references == [1: 1])
        let grants = try await plane.adminVault.listGrants(key)
        #expect(grants.map(\.principalID) == [record.info.managedIdentity])
        #expect(grants.first?.operations == [.wrap, .unwrap])
        // The wrapped account key unwraps, as the managed identity, to 32 bytes bound to the account.
        #expect(try await plane.unwrapAccountKey("acct-1").plaintext.count == 32)
        let wrongContext = await status {
            _ = try await plane.manager.identityVaultClient(account: "acct-1").unwrap(record.wrappedKey, context: Array("acct-2".utf8))
        }
        #expect(wrongContext != nil)
    }

    @Test func badOrDuplicateNamesLeaveNoTrace() async throws {
        let plane = try await plane()
        let owner = InProcessControlPlane.owner(tenant: "t1")
        _ = try await plane.manager.create("acct-1", owner: owner)
        let keys = try await plane.adminVault.listKeys(provider: "managed").count
        #expect(await status { _ = try await plane.manager.create("acct-1", owner: owner) }?.code == .alreadyExists)
        for bad in ["ab", "-abc", "Acct", "a_b", String(repeating: "a", count: 64)] {
            let refused = await status { _ = try await plane.manager.create(bad, owner: owner) }
            #expect(refused?.code == .invalidArgument, "\(bad)")
            #expect(refused?.message.contains(AccountManager.accountRule) == true)
        }
        #expect(try await plane.adminVault.listKeys(provider: "managed").count == keys)
        #expect(try await plane.registry.all().map(\.info.accountID) == ["acct-1"])
    }

    @Test func switchingToACustomerKeyNeedsBothGrantsAndKeepsTheAccountKey() async throws {
        let plane = try await plane()
        let created = try await plane.manager.create("acct-1", owner: InProcessControlPlane.owner(tenant: "t1"))
        let plain = try await plane.unwrapAccountKey("acct-1").plaintext
        let customer = try await plane.adminVault.createKey(provider: "customer", KeySpec(keyID: "ck"), tenant: "t1").ref.unversioned
        #expect(split(customer.keyID)?.tag == split(created.managedKeyID)?.tag && split(customer.keyID)?.name == "ck")
        let request = AccountSetEncryptionRequest(accountID: "acct-1", keySource: "customer", keyID: "ck")

        let noGrant = await status { _ = try await plane.manager.setEncryption(request) }
        #expect(noGrant?.code == .permissionDenied && noGrant?.details["reason"] == "missingGrant")
        #expect(noGrant?.message.contains("atrest key grant customer/ck --account acct-1 --operations wrap,unwrap") == true)
        _ = try await plane.adminVault.grantAccess(AccessGrant(key: customer, principalID: "", operations: [.wrap], accountID: "acct-1"))
        #expect(await status { _ = try await plane.manager.setEncryption(request) }?.code == .permissionDenied)
        #expect(plane.registry.record("acct-1") == created)

        _ = try await plane.adminVault.grantAccess(AccessGrant(key: customer, principalID: "", operations: [.unwrap], accountID: "acct-1"))
        let switched = try await plane.manager.setEncryption(request)
        #expect(switched.info.encryption.keySource == "customer")
        #expect(switched.registered == KeyRef(provider: "customer", keyID: customer.keyID, version: 1))
        #expect(try await plane.unwrapAccountKey("acct-1").plaintext == plain)
        #expect(try await plane.adminVault.getKey(customer).references == [1: 1])
        #expect(try await plane.adminVault.getKey(KeyRef(provider: "managed", keyID: created.managedKeyID)).references.values.allSatisfy { $0 == 0 })

        let back = try await plane.manager.setEncryption(AccountSetEncryptionRequest(accountID: "acct-1", keySource: "managed"))
        #expect(back.info.encryption.keyID == created.managedKeyID && back.registered.provider == "managed")
        #expect(try await plane.unwrapAccountKey("acct-1").plaintext == plain)
        #expect(try await plane.adminVault.getKey(customer).references.values.allSatisfy { $0 == 0 })
    }

    @Test func aKeyThatWrapsButDoesNotUnwrapIsRefusedBeforeTheSwitch() async throws {
        let plane = try await plane()
        let created = try await plane.manager.create("acct-1", owner: InProcessControlPlane.owner(tenant: "t1"))
        let plain = try await plane.unwrapAccountKey("acct-1").plaintext
        // revoked-test wraps but answers REVOKED to every unwrap.
        let revoked = try await plane.adminVault.createKey(provider: "revoked-test", KeySpec(keyID: "rv"), tenant: "t1").ref.unversioned
        _ = try await plane.adminVault.grantAccess(AccessGrant(key: revoked, principalID: "", operations: [.wrap, .unwrap], accountID: "acct-1"))
        let refused = await status {
            _ = try await plane.manager.setEncryption(AccountSetEncryptionRequest(accountID: "acct-1", keySource: "customer",
                                                                                  provider: "revoked-test", keyID: "rv"))
        }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.details["reason"] == "unwrapRefused")
        #expect(refused?.message.contains("does not unwrap it") == true)
        #expect(plane.registry.record("acct-1") == created)
        #expect(try await plane.adminVault.getKey(revoked).references.values.allSatisfy { $0 == 0 })
        #expect(try await plane.unwrapAccountKey("acct-1").plaintext == plain)
    }

    @Test func unknownAndOffKeySourcesAreRefused() async throws {
        let plane = try await plane()
        _ = try await plane.manager.create("acct-1", owner: InProcessControlPlane.owner(tenant: "t1"))
        for (source, provider, keyID) in [("off", "", ""), ("hsm", "", ""), ("customer", "", ""), ("customer", "managed", "x")] {
            let refused = await status {
                _ = try await plane.manager.setEncryption(AccountSetEncryptionRequest(accountID: "acct-1", keySource: source,
                                                                                      provider: provider, keyID: keyID))
            }
            #expect(refused?.code == .invalidArgument, "\(source) \(provider)")
        }
        let missing = await status {
            _ = try await plane.manager.setEncryption(AccountSetEncryptionRequest(accountID: "acct-1", keySource: "customer", keyID: "nope"))
        }
        #expect(missing?.code == .notFound)
        #expect(await status { _ = try await plane.manager.setEncryption(AccountSetEncryptionRequest(accountID: "nobody", keySource: "managed")) }?.code == .notFound)
    }

    @Test func rotationRewrapsAccountsToTheNewVersion() async throws {
        let plane = try await plane()
        _ = try await plane.manager.create("acct-1", owner: InProcessControlPlane.owner(tenant: "t1"))
        let plain = try await plane.unwrapAccountKey("acct-1").plaintext
        let customer = try await plane.adminVault.createKey(provider: "customer", KeySpec(keyID: "ck"), tenant: "t1").ref.unversioned
        _ = try await plane.adminVault.grantAccess(AccessGrant(key: customer, principalID: "", operations: [.wrap, .unwrap], accountID: "acct-1"))
        _ = try await plane.manager.setEncryption(AccountSetEncryptionRequest(accountID: "acct-1", keySource: "customer", keyID: "ck"))
        let rotated = try await plane.adminVault.rotateKey(customer)
        #expect(rotated.currentVersion == 2)
        await plane.manager.rewrapAccounts(using: rotated.ref)
        let record = try #require(plane.registry.record("acct-1"))
        #expect(record.info.encryption.keyVersion == 2 && record.registered.version == 2)
        #expect(record.info.encryption.keySource == "customer")
        #expect(try await plane.unwrapAccountKey("acct-1").plaintext == plain)
        let references = try await plane.adminVault.getKey(customer).references
        #expect(references[2] == 1 && (references[1] ?? 0) == 0)
        // Already on version 2: a second sweep changes nothing.
        await plane.manager.rewrapAccounts(using: rotated.ref)
        #expect(plane.registry.record("acct-1") == record)
    }

    @Test func moveGivesTheAccountAManagedKeyOfItsNewTenant() async throws {
        let plane = try await plane(tenants: ["t1", "t2"])
        let created = try await plane.manager.create("acct-1", owner: InProcessControlPlane.owner(tenant: "t1"))
        let plain = try await plane.unwrapAccountKey("acct-1").plaintext
        let moved = try await plane.manager.move("acct-1", to: "t2")
        #expect(moved.previousTenant == "t1" && moved.account.tenant == "t2")
        let record = try #require(plane.registry.record("acct-1"))
        #expect(record.info.tenant == "t2" && record.managedKeyID != created.managedKeyID)
        #expect(split(record.managedKeyID)?.tag != split(created.managedKeyID)?.tag)
        #expect(record.info.encryption.keySource == "managed" && record.info.encryption.keyID == record.managedKeyID)
        #expect(try await plane.manager.serviceIdentityClient().accountIdentity(account: "acct-1").tenant == "t2")
        // Same account key, now wrapped by t2's managed key and readable by the moved identity.
        #expect(try await plane.unwrapAccountKey("acct-1").plaintext == plain)

        // A move repeated after it finished (identity already there) completes again,
        // without making yet another managed key.
        let again = try await plane.manager.move("acct-1", to: "t2")
        #expect(again.account.tenant == "t2")
        #expect(plane.registry.record("acct-1")?.managedKeyID == record.managedKeyID)
        #expect(try await plane.unwrapAccountKey("acct-1").plaintext == plain)
        #expect(await status { _ = try await plane.manager.move("nobody", to: "t2") }?.code == .notFound)
    }

    @Test func movingAnAccountOnACustomerKeyKeepsItAndSaysHowToRepair() async throws {
        let plane = try await plane(tenants: ["t1", "t2"])
        _ = try await plane.manager.create("acct-1", owner: InProcessControlPlane.owner(tenant: "t1"))
        let customer = try await plane.adminVault.createKey(provider: "customer", KeySpec(keyID: "ck"), tenant: "t1").ref.unversioned
        _ = try await plane.adminVault.grantAccess(AccessGrant(key: customer, principalID: "", operations: [.wrap, .unwrap], accountID: "acct-1"))
        let switched = try await plane.manager.setEncryption(AccountSetEncryptionRequest(accountID: "acct-1", keySource: "customer", keyID: "ck"))
        let moved = try await plane.manager.move("acct-1", to: "t2")
        #expect(moved.account.tenant == "t2" && moved.notice.contains("re-grant"))
        let record = try #require(plane.registry.record("acct-1"))
        #expect(record.info.encryption == switched.info.encryption && record.wrappedKey == switched.wrappedKey)
        #expect(split(record.managedKeyID)?.tag != split(customer.keyID)?.tag)
    }
}
