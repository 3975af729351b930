import AtRestClient
import AtRestIdentity
import AtRestKeyVault
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// The real atrest-keyvault process: the customer-key life cycle, grants to
/// managed identities, events, plug-in failures.
@Suite("Key vault with real processes", .serialized)
struct VaultProcessTests {
    /// Collects key events from the vault's PUB socket in the background.
    final class EventLog: @unchecked Sendable {
        let subscriber: EventSubscriber<KeyEvent>
        private let lock = NSLock()
        private var events: [KeyEvent] = []
        private var task: Task<Void, Never>?

        init(endpoint: String) async throws {
            subscriber = try EventSubscriber<KeyEvent>(endpoint: endpoint)
            #expect(await subscriber.waitUntilConnected(timeout: .seconds(10)))
            let stream = subscriber.deliveries
            task = Task { [weak self] in
                for await delivery in stream {
                    if case .event(_, let event) = delivery { self?.append(event) }
                }
            }
        }

        private func append(_ event: KeyEvent) { lock.withLock { events.append(event) } }

        /// Waits (bounded, never timed as an assertion) for an event of `kind` on `keyID`.
        func wait(_ kind: KeyEvent.Kind, _ keyID: String) async -> KeyEvent? {
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline {
                if let hit = lock.withLock({ events.first { $0.kind == kind && $0.key.named.keyID == keyID } }) { return hit }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return nil
        }

        func close() { task?.cancel(); subscriber.close() }
    }

    @Test func customerKeyLifeCycle() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        let events = try await EventLog(endpoint: fixture.eventsEndpoint)
        defer { events.close() }
        let admin = fixture.adminVault
        _ = try await fixture.adminIdentity.createTenant("acme")
        _ = try await fixture.adminIdentity.createUser(tenant: "acme", name: "mallory", secret: "mallory-secret-1")

        // The system administrator creates it in tenant acme, which owns it.
        let created = try await admin.createKey(provider: "customer", KeySpec(keyID: "k1"), tenant: "acme")
        let key = created.ref.unversioned
        #expect(created.currentVersion == 1 && key.named.keyID == "k1" && key.keyID != "k1")
        #expect(await events.wait(.created, "k1") != nil)

        // Grant to account acct-1's managed identity (the vault resolves it).
        let (miToken, miPrincipal) = try await fixture.managedIdentityToken(account: "acct-1", tenant: "acme")
        let grants = try await admin.grantAccess(AccessGrant(key: key, principalID: "", operations: [.wrap, .unwrap], accountID: "acct-1"))
        #expect(grants.contains { $0.principalID == miPrincipal && $0.tenant == "acme" })
        #expect(await events.wait(.accessGranted, "k1") != nil)

        let worker = try fixture.vaultClient(token: miToken)
        defer { worker.base.close() }
        let accountKey = (0..<32).map { UInt8($0) }
        let context = Array("acct-1".utf8)
        let wrapped = try await worker.wrap(accountKey, with: key, context: context)
        #expect(wrapped.key.version == 1)
        #expect(try await worker.unwrap(wrapped.wrapped, context: context).plaintext == accountKey)

        // Another principal is denied.
        let mallory = try fixture.vaultClient(token: try await fixture.login(tenant: "acme", "mallory", secret: "mallory-secret-1"))
        defer { mallory.base.close() }
        let denied = await #expect(throws: RPCStatus.self) { _ = try await mallory.unwrap(wrapped.wrapped, context: context) }
        #expect(denied?.code == .permissionDenied)

        // Rotate: old blobs still unwrap; Rewrap moves them to the new version inside the vault.
        let rotated = try await admin.rotateKey(key)
        #expect(rotated.currentVersion == 2)
        #expect(await events.wait(.rotated, "k1") != nil)
        #expect(try await worker.unwrap(wrapped.wrapped, context: context).plaintext == accountKey)
        let rewrapped = try await worker.rewrap(wrapped.wrapped, context: context)
        #expect(rewrapped.key.version == 2)
        #expect(try await worker.unwrap(rewrapped.wrapped, context: context).plaintext == accountKey)

        // Disable: unwrap fails with a clear error, KeyStatus says so, an event goes out.
        _ = try await admin.change(.disable, key)
        #expect(await events.wait(.disabled, "k1") != nil)
        let disabled = await #expect(throws: RPCStatus.self) { _ = try await worker.unwrap(rewrapped.wrapped, context: context) }
        #expect(disabled?.code == .failedPrecondition)
        #expect(disabled?.message.contains("disabled") == true)
        let status = try await worker.keyStatus(key)
        #expect(status.unwrapAllowed == false && status.state == "disabled")
        _ = try await admin.change(.enable, key)
        #expect(await events.wait(.enabled, "k1") != nil)
        #expect(try await worker.unwrap(rewrapped.wrapped, context: context).plaintext == accountKey)
        #expect(try await worker.keyStatus(key).unwrapAllowed)

        // Delete / recover; purge refused while stored data references the key.
        // Reference counts are the front door's (a service principal's) alone.
        #expect(await #expect(throws: RPCStatus.self) { _ = try await worker.registerReference(rewrapped.key) }?.code == .permissionDenied)
        let service = try fixture.vaultClient(token: try await fixture.login("frontdoor", secret: try IdentityVaultFixture.secret(fixture.directory, "frontdoor")))
        defer { service.base.close() }
        #expect(try await service.registerReference(rewrapped.key) == 1)
        _ = try await admin.change(.delete, key)
        #expect(await events.wait(.deleted, "k1") != nil)
        let deleted = await #expect(throws: RPCStatus.self) { _ = try await worker.unwrap(rewrapped.wrapped, context: context) }
        #expect(deleted?.code == .failedPrecondition)
        _ = try await admin.change(.recover, key)
        #expect(try await worker.unwrap(rewrapped.wrapped, context: context).plaintext == accountKey)
        _ = try await admin.change(.delete, key)
        let referenced = await #expect(throws: RPCStatus.self) { try await admin.purgeKey(key) }
        #expect(referenced?.code == .failedPrecondition)
        #expect(referenced?.details["vault_code"] == "stillReferenced")
        _ = try await admin.change(.recover, key)

        // Revoke: access ends, with an event.
        _ = try await admin.revokeAccess(AccessGrant(key: key, principalID: miPrincipal, operations: []))
        #expect(await events.wait(.accessRevoked, "k1") != nil)
        let revoked = await #expect(throws: RPCStatus.self) { _ = try await worker.unwrap(rewrapped.wrapped, context: context) }
        #expect(revoked?.code == .permissionDenied)
    }

    @Test func accountMovedToAnotherTenantGetsTheRepairError() async throws {
        let fixture = try await IdentityVaultFixture()
        defer { fixture.shutdown() }
        _ = try await fixture.adminIdentity.createTenant("acme")
        _ = try await fixture.adminIdentity.createTenant("globex")
        let key = try await fixture.adminVault.createKey(provider: "customer", KeySpec(keyID: "moving"), tenant: "acme").ref.unversioned
        let (before, _) = try await fixture.managedIdentityToken(account: "acct-9", tenant: "acme")
        _ = try await fixture.adminVault.grantAccess(AccessGrant(key: key, principalID: "", operations: [.wrap, .unwrap], accountID: "acct-9"))
        let worker = try fixture.vaultClient(token: before)
        let wrapped = try await worker.wrap(Array(repeating: 7, count: 32), with: key)
        worker.base.close()

        // As the front door's Account/Move does: identity first, then the vault.
        let frontDoor = try fixture.identityClient(token: try await fixture.login("frontdoor", secret: try IdentityVaultFixture.secret(fixture.directory, "frontdoor")))
        defer { frontDoor.base.close() }
        let moved = try await frontDoor.moveAccount("acct-9", to: "globex")
        #expect(moved.notice.contains("re-grant"))
        let (after, _) = try await fixture.managedIdentityToken(account: "acct-9", tenant: "globex")
        let movedWorker = try fixture.vaultClient(token: after)
        defer { movedWorker.base.close() }
        let error = await #expect(throws: RPCStatus.self) { _ = try await movedWorker.unwrap(wrapped.wrapped) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("now belongs to tenant 'globex'") == true)
        #expect(error?.message.contains("re-grant key '\(key)'") == true)
        let status = try await movedWorker.keyStatus(key)
        #expect(!status.unwrapAllowed && status.reason.contains("globex"))

        // The repair the message names: re-grant to the account (now in globex);
        // across tenants, that is the system administrator's to do.
        _ = try await fixture.adminVault.grantAccess(AccessGrant(key: key, principalID: "", operations: [.unwrap], accountID: "acct-9"))
        #expect(try await movedWorker.unwrap(wrapped.wrapped).plaintext == Array(repeating: 7, count: 32))
    }

    @Test func missingPluginStopsStartupNamingTheFile() async throws {
        let directory = NSTemporaryDirectory() + "atrest-it-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await runTool("atrest-keyvault", [
            "--data-dir", directory, "--endpoint", "tcp://127.0.0.1:*", "--events-endpoint", "tcp://127.0.0.1:*",
            "--provider", "managed", "--provider", "nosuch", "--log-level", "error",
        ])
        #expect(result.status != 0)
        #expect(result.err.contains("libKeyProviderNosuch.so"))
        #expect(result.err.contains("does not exist"))
        #expect(!result.out.contains("ready"))
    }
}
