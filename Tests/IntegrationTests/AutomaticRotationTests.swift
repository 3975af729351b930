import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Issue 20, automatic rotation: a customer key with a rotation period
/// rotates on time by the vault's own timer, and every account on it (two
/// here) picks up the new KEK version within seconds (the front door
/// re-wraps each on the `rotated` event), its data still readable. The vault runs with a rotation day of 5 s and a
/// sweep every second (docs/OPERATIONS.md "Key rotation runbook"), so a key
/// with `rotation_days` 1 rotates every 5 s; the test polls, and checks the
/// audited rotation times against the key's creation (seconds granularity).
@Suite("Automatic rotation", .serialized)
struct AutomaticRotationTests {
    @Test func keyWithPeriodRotatesAndEveryAccountFollows() async throws {
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
        // Two accounts on the one key, each with its own blobs.
        let accounts = ["auto-acct", "auto-acct-2"]
        var switched: [String: AccountEncryption] = [:]
        var blobs: [String: [String: [UInt8]]] = [:]
        for (number, account) in accounts.enumerated() {
            let info = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: account), as: AccountInfo.self, metadata: alice).message
            _ = try await c.call(KeyVaultMethod.grantAccess.name,
                                 request: AccessRequest(AccessGrant(key: key, principalID: info.managedIdentity, operations: [.wrap, .unwrap])),
                                 as: AccessResponse.self, metadata: alice)
            switched[account] = try await c.call(AccountMethod.setEncryption.name,
                                                 request: AccountSetEncryptionRequest(accountID: account, keySource: "customer", keyID: "auto-rot"),
                                                 as: AccountEncryption.self, metadata: alice).message
            let a = alice.merging(["account": account]) { $1 }
            _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "data"), as: EmptyMessage.self, metadata: a)
            for index in 0..<5 {
                let data = (0..<(1000 + index * 3000)).map { UInt8(truncatingIfNeeded: $0 &+ index &+ number * 11) }
                _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "data", name: "b\(index)"), as: BlobProperties.self,
                                     payload: [data], metadata: a)
                blobs[account, default: [:]]["b\(index)"] = data
            }
        }
        // The version every account was switched under (the key rotates every 5 s, so the later switch may already be newer).
        let before = try #require(switched.values.map(\.keyVersion).max())

        // Poll until the key's version moved past it and every account followed; the accounts
        // must follow within seconds of the rotation being seen (the front door re-wraps on the vault's `rotated` event).
        var keyVersion: UInt32 = 0
        var encryption = switched
        var rotationSeen: ContinuousClock.Instant?
        var followedAfter: Duration?
        for _ in 0..<600 {
            keyVersion = try await c.call(KeyVaultMethod.getKey.name, request: KeyRequest(key), as: KeyResponse.self, metadata: alice,
                                          idempotent: true).message.key.currentVersion
            if keyVersion > before, rotationSeen == nil { rotationSeen = .now }
            for account in accounts {
                encryption[account] = try await c.call(AccountMethod.getEncryption.name, request: AccountRequest(accountID: account), as: AccountEncryption.self,
                                                       metadata: alice, idempotent: true).message
            }
            if keyVersion > before, accounts.allSatisfy({ encryption[$0]!.keyVersion > before }) {
                followedAfter = rotationSeen.map { .now - $0 }
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(keyVersion > before, "the key rotated by itself (version \(keyVersion), was \(before))")
        for account in accounts {
            let now = try #require(encryption[account])
            #expect(now.keyVersion > before && now.keyVersion <= keyVersion && now.keyID == switched[account]!.keyID,
                    "\(account)'s key is re-wrapped under a newer KEK version: \(now)")
        }
        let lag = try #require(followedAfter, "not every account followed the rotation")
        #expect(lag < .seconds(15), "every account followed within seconds of the rotation being seen (took \(lag))")
        // The rotation was the vault's timer (the system principal), audited.
        let keyAdmin = try await cluster.systemKeyAdministrator()
        let audit = try await c.call(KeyVaultMethod.getAuditLog.name, request: GetAuditLogRequest(), as: GetAuditLogResponse.self, metadata: keyAdmin).message
        let timerRotations = audit.entries.filter { $0.operation == KeyVaultMethod.rotateKey.verb && $0.principalID == "system:rotation-policy"
                && $0.key.keyID == switched[accounts[0]]!.keyID && $0.result == "ok" }.map(\.time).sorted()
        #expect(!timerRotations.isEmpty, "the timer's rotation is audited")
        // On time: the first rotation came when the period (one 5-second "day") had passed, not before,
        // and within a few sweeps (every second) after; each later one a period after the one before.
        if let first = timerRotations.first {
            #expect(first - created.key.createdAt >= 5 && first - created.key.createdAt <= 12,
                    "first rotation \(first - created.key.createdAt) s after creation (period 5 s, sweep every 1 s)")
        }
        for (earlier, later) in zip(timerRotations, timerRotations.dropFirst()) {
            #expect(later - earlier >= 5, "rotations \(later - earlier) s apart (period 5 s): \(timerRotations)")
        }
        // Every blob of every account still reads; a new one written now reads back.
        for account in accounts {
            let a = alice.merging(["account": account]) { $1 }
            for (name, data) in blobs[account]! {
                let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "data", name: name), as: BlobGetResponse.self,
                                           metadata: a, idempotent: true)
                #expect(got.payload.flatMap { $0 } == data, "\(account)/\(name)")
            }
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "data", name: "after"), as: BlobProperties.self,
                                 payload: [[7, 7]], metadata: a)
            let after = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "data", name: "after"), as: BlobGetResponse.self,
                                         metadata: a, idempotent: true)
            #expect(after.payload.flatMap { $0 } == [7, 7], "\(account)")
        }
    }
}
