import AtRestClient
import AtRestLocalState
import AtRestWire
import Logging
import Synchronization
import Testing
@testable import AtRestFrontDoor

/// Deletion, recovery and the purge against the real identity service and
/// vault in this process, with two front doors' registries on one backend
/// sweeping at once (the worker calls are closures here: the processes'
/// version is IntegrationTests/AccountDeleteTests).
@Suite(.serialized) struct AccountDeletionTests {
    func refusal(_ body: () async throws -> Void) async -> RPCStatus? {
        do { try await body() } catch let status as RPCStatus { return status } catch { return RPCStatus(.unknown, "\(error)") }
        return nil
    }

    @Test func twoFrontDoorsSweepingAtOncePurgeOnceAndDeleteTheManagedKeyOnce() async throws {
        let plane = try await InProcessControlPlane()
        _ = try await plane.adminIdentity.createTenant("t1")
        let created = try await plane.manager.create("acct-d", owner: InProcessControlPlane.owner(tenant: "t1"))
        // A second front door on the same registry backend and root key.
        let root = plane.directory.path
        try LocalFile.makeDirectory("\(root)/fd2")
        _ = try LocalFile.createExclusive(try #require(try LocalFile.read("\(root)/frontdoor/registry.key")), at: "\(root)/fd2/registry.key")
        let registry2 = try await AccountRegistry.forTest("\(root)/fd2", backend: "\(root)/frontdoor/registry-store")
        defer { registry2.close() }
        let m = plane.manager
        let manager2 = AccountManager(registry: registry2, identity: m.identity, vault: m.vault, tokens: m.tokens, logger: Logger(label: "test.fd2"))
        let held = Mutex(AccountUsage(containers: 1))
        let erases = Mutex(0)
        func deletion(_ manager: AccountManager) -> AccountDeletion {
            AccountDeletion(manager: manager, grace: .zero, usage: { _ in held.withLock { $0 } },
                            erase: { _ in erases.withLock { $0 += 1 }; return AccountUsage() })
        }
        let first = deletion(m), second = deletion(manager2)

        let notEmpty = await refusal { _ = try await first.delete("acct-d", force: false) }
        #expect(notEmpty?.code == .failedPrecondition && notEmpty?.message.contains("holds data (1 container)") == true, "\(String(describing: notEmpty))")
        held.withLock { $0 = AccountUsage() }
        let deleted = try await first.delete("acct-d", force: false)
        #expect(deleted.state == AccountState.deleted && deleted.purgeAfterUnix == deleted.deletedAtUnix)

        async let a: Void = first.sweep()
        async let b: Void = second.sweep()
        _ = await (a, b)
        // As the backend has it (a registry's cache may still hold a record the other one replaced).
        let record = try #require(try await registry2.all().first { $0.info.accountID == "acct-d" })
        #expect(record.info.state == AccountState.purged && record.wrappedKey.isEmpty && record.keys.isEmpty)
        #expect(record.managedKeyID.isEmpty && record.registered.provider.isEmpty)
        #expect(erases.withLock { $0 } >= 1)
        let key = KeyRef(provider: "managed", keyID: created.managedKeyID)
        let info = try await plane.adminVault.getKey(key)
        #expect(info.state == .deleted)
        #expect(info.references.values.allSatisfy { $0 == 0 })
        // Deleted once. A front door that listed the account after the other's
        // purge and before its release sees "purged, key still named" and asks
        // too: the vault answers that the key is already deleted (seen when
        // the suites ran two at a time, session 30).
        let deletes = try await plane.adminVault.auditLog().filter { $0.operation == KeyVaultMethod.deleteKey.verb && $0.key.keyID == created.managedKeyID }
        #expect(deletes.filter { $0.result == "ok" }.count == 1 && deletes.allSatisfy { $0.result == "ok" || $0.result == "deleted" },
                "\(deletes.map(\.result))")
        // Nothing more happens on later passes, and it cannot be recovered; the id can be created again.
        let asked = try await plane.adminVault.auditLog().filter { $0.operation == KeyVaultMethod.deleteKey.verb }.count
        await first.sweep()
        #expect(try await plane.adminVault.auditLog().filter { $0.operation == KeyVaultMethod.deleteKey.verb }.count == asked)
        let recover = await refusal { _ = try await first.recover("acct-d") }
        #expect(recover?.code == .failedPrecondition && recover?.message.contains("cannot be recovered") == true)
        let again = try await plane.manager.create("acct-d", owner: InProcessControlPlane.owner(tenant: "t1"))
        #expect(again.info.state.isEmpty && !again.wrappedKey.isEmpty && again.managedKeyID != created.managedKeyID)
    }
}
