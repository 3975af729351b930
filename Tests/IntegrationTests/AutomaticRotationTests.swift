import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Issue 20, automatic rotation: a customer key with a rotation period
/// rotates on time by the vault's own timer, and an account on it picks up
/// the new KEK version (the front door re-wraps it on the `rotated` event),
/// its data still readable. The vault runs with a rotation day of 5 s and a
/// sweep every second (docs/OPERATIONS.md "Key rotation runbook"), so a key
/// with `rotation_days` 1 rotates every 5 s; the test polls, it times nothing.
@Suite("Automatic rotation", .serialized)
struct AutomaticRotationTests {
    @Test func keyWithPeriodRotatesAndAccountFollows() async throws {
        var options = LocalCluster.blobClusterOptions
        options.extraArguments[.vault] = ["--rotation-check-interval", "1", "--rotation-day-seconds", "5"]
        let cluster = try LocalCluster(options)
        defer { cluster.stop() }
        let (alice, _) = try await cluster.bootstrapUsers()
        let c = cluster.client
        let key = KeyRef(provider: "customer", keyID: "auto-rot")
        let created = try await c.call(KeyVaultMethod.createKey.name, request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "auto-rot", rotationDays: 1)),
                                       as: KeyResponse.self, metadata: alice).message
        #expect(created.key.rotationDays == 1)
        let info = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: "auto-acct"), as: AccountInfo.self, metadata: alice).message
        _ = try await c.call(KeyVaultMethod.grantAccess.name, request: AccessRequest(AccessGrant(key: key, principalID: info.managedIdentity, operations: [.wrap, .unwrap])),
                             as: AccessResponse.self, metadata: alice)
        let switched = try await c.call(AccountMethod.setEncryption.name,
                                        request: AccountSetEncryptionRequest(accountID: "auto-acct", keySource: "customer", keyID: "auto-rot"),
                                        as: AccountEncryption.self, metadata: alice).message
        let a = alice.merging(["account": "auto-acct"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "data"), as: EmptyMessage.self, metadata: a)
        var blobs: [String: [UInt8]] = [:]
        for index in 0..<5 {
            let data = (0..<(1000 + index * 3000)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "data", name: "b\(index)"), as: BlobProperties.self,
                                 payload: [data], metadata: a)
            blobs["b\(index)"] = data
        }

        // Poll until the key's version moved past the account's and the account followed.
        var keyVersion: UInt32 = 0
        var encryption = switched
        for _ in 0..<600 {
            keyVersion = try await c.call(KeyVaultMethod.getKey.name, request: KeyRequest(key), as: KeyResponse.self, metadata: alice,
                                          idempotent: true).message.key.currentVersion
            encryption = try await c.call(AccountMethod.getEncryption.name, request: AccountRequest(accountID: "auto-acct"), as: AccountEncryption.self,
                                          metadata: alice, idempotent: true).message
            if keyVersion > switched.keyVersion, encryption.keyVersion > switched.keyVersion { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(keyVersion > switched.keyVersion, "the key rotated by itself (version \(keyVersion), was \(switched.keyVersion))")
        #expect(encryption.keyVersion > switched.keyVersion && encryption.keyVersion <= keyVersion && encryption.keyID == switched.keyID,
                "the account's key is re-wrapped under a newer KEK version: \(encryption)")
        // The rotation was the vault's timer (the system principal), audited.
        let keyAdmin = try await cluster.systemKeyAdministrator()
        let audit = try await c.call(KeyVaultMethod.getAuditLog.name, request: GetAuditLogRequest(), as: GetAuditLogResponse.self, metadata: keyAdmin).message
        #expect(audit.entries.contains { $0.operation == KeyVaultMethod.rotateKey.verb && $0.principalID == "system:rotation-policy"
                && $0.key.keyID == switched.keyID && $0.result == "ok" })
        // Every blob still reads; a new one written now reads back.
        for (name, data) in blobs {
            let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "data", name: name), as: BlobGetResponse.self,
                                       metadata: a, idempotent: true)
            #expect(got.payload.flatMap { $0 } == data, "\(name)")
        }
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "data", name: "after"), as: BlobProperties.self,
                             payload: [[7, 7]], metadata: a)
        let after = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "data", name: "after"), as: BlobGetResponse.self,
                                     metadata: a, idempotent: true)
        #expect(after.payload.flatMap { $0 } == [7, 7])
    }
}
