import AtRestCrypto
import AtRestKeyVault
@testable import AtRestMessaging
import AtRestWire
import AtRestTesting
import Foundation
import Testing

/// The data path end to end through the real five processes: one cluster for
/// the whole flow (starting it is the slow part), scenarios in order.
@Suite(.serialized) struct BlobEndToEndTests {
    @Test(arguments: StorageUnderTest.allCases)
    func encryptedBlobStorageEndToEnd(storage: StorageUnderTest) async throws {
        try await ClusterOnStorage.with(storage, LocalCluster.blobClusterOptions) { on in try await endToEnd(on) }
    }

    func endToEnd(_ on: ClusterOnStorage) async throws {
        let cluster = on.cluster
        let (alice, bob) = try await cluster.bootstrapUsers()
        let c = cluster.client

        let infoA = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-a"), as: AccountInfo.self, metadata: alice).message
        // The account key was generated inside the vault (as the managed identity), not sent to it by the front door.
        let audit = try await c.call("atrest.v1.KeyVault/GetAuditLog", request: GetAuditLogRequest(), as: GetAuditLogResponse.self, metadata: alice).message.entries
        let accountKeyOps = audit.filter { $0.key.keyID == infoA.encryption.keyID && $0.principalID == infoA.managedIdentity }.map { "\($0.operation):\($0.result)" }
        #expect(accountKeyOps.contains("GenerateWrappedKey:ok") && !accountKeyOps.contains { $0.hasPrefix("Wrap:") }, "\(accountKeyOps)")
        // Key material never crosses the public endpoint, even for a caller the vault would allow.
        await expectCode(.permissionDenied, contains: "public endpoint") {
            _ = try await c.call("atrest.v1.KeyVault/Unwrap", request: UnwrapRequest(wrapped: [1, 2, 3], context: []),
                                 as: UnwrapResponse.self, metadata: alice)
        }
        let infoB = try await c.call("atrest.v1.Account/Create", request: AccountCreateRequest(accountID: "acct-b"), as: AccountInfo.self, metadata: bob).message
        #expect(infoB.encryption.keySource == "managed" && infoB.encryption.keyVersion == 1)
        let a = alice.merging(["account": "acct-a"]) { $1 }
        let b = bob.merging(["account": "acct-b"]) { $1 }
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "photos"), as: EmptyMessage.self, metadata: a)
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "docs"), as: EmptyMessage.self, metadata: b)

        // Round trips, byte-exact, with a verified content hash.
        var blobs: [String: [UInt8]] = [:]
        for size in [0, 1, 65535, 65536, 65537] {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let name = "size-\(size).bin"
            let hash = try SHA256.hash(data)
            let props = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: name, contentHash: hash),
                                         as: BlobProperties.self, payload: data.isEmpty ? [] : [data], metadata: a).message
            #expect(props.length == UInt64(size) && props.contentHash == hash)
            let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: name), as: BlobGetResponse.self, metadata: a)
            #expect(got.payload.flatMap { $0 } == data, "size \(size)")
            blobs[name] = data
        }
        // A wrong content hash is refused.
        await #expect(throws: RPCStatus.self) {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: "bad", contentHash: [UInt8](repeating: 1, count: 32)),
                                 as: BlobProperties.self, payload: [[1, 2, 3]], metadata: a)
        }

        // 10 MiB as staged blocks, in parallel, then ranged reads at segment edges.
        let big = (0..<(10 << 20)).map { UInt8(truncatingIfNeeded: ($0 >> 3) &* 131 &+ $0) }
        let blockSize = 1 << 20
        let ids: [[UInt8]] = (0..<10).map { Array("block-\($0)".utf8) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, id) in ids.enumerated() {
                let part = Array(big[index * blockSize..<(index + 1) * blockSize])
                group.addTask {
                    _ = try await c.call(BlobMethod.stageBlock.name, request: StageBlockRequest(container: "photos", name: "big.bin", blockID: id),
                                         as: StageBlockResponse.self, payload: [part], metadata: a, idempotent: true)
                }
            }
            try await group.waitForAll()
        }
        let committed = try await c.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: "photos", name: "big.bin", blockIDs: ids),
                                         as: BlobProperties.self, metadata: a).message
        #expect(committed.length == UInt64(big.count))
        var whole: [UInt8] = []
        while whole.count < big.count {
            let start = UInt64(whole.count)
            let part = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "big.bin", range: start..<(start + 4 << 20)),
                                        as: BlobGetResponse.self, metadata: a, idempotent: true)
            whole += part.payload.flatMap { $0 }
        }
        #expect(whole == big)
        // The reply limit (8 MiB - 64 KiB) holds for whole and ranged reads; a range past the end is empty.
        await expectCode(.invalidArgument, contains: "read it in ranges") {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "big.bin"), as: BlobGetResponse.self, metadata: a)
        }
        await expectCode(.invalidArgument, contains: "smaller ranges") {
            _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "big.bin", range: 0..<(9 << 20)), as: BlobGetResponse.self, metadata: a)
        }
        let pastEnd = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "big.bin", range: UInt64(big.count + 5)..<UInt64(big.count + 100)),
                                       as: BlobGetResponse.self, metadata: a)
        #expect(pastEnd.payload.isEmpty && pastEnd.message.offset == UInt64(big.count))
        for edge in [65535, 65536, 65537, blockSize - 1, blockSize, 3 * blockSize + 65535] {
            let range = UInt64(edge - 3)..<UInt64(edge + 5)
            let part = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "big.bin", range: range),
                                        as: BlobGetResponse.self, metadata: a)
            #expect(part.payload.flatMap { $0 } == Array(big[(edge - 3)..<(edge + 5)]), "range at \(edge)")
        }

        // Metadata round trip and listing.
        let secretValue = "top-secret-metadata-value-4711"
        _ = try await c.call(BlobMethod.setMetadata.name, request: BlobSetMetadataRequest(container: "photos", name: "size-1.bin", metadata: ["owner": secretValue], contentType: "text/plain"),
                             as: BlobProperties.self, metadata: a)
        let props = try await c.call(BlobMethod.getProperties.name, request: BlobRequest(container: "photos", name: "size-1.bin"), as: BlobProperties.self, metadata: a).message
        #expect(props.metadata == ["owner": secretValue] && props.contentType == "text/plain")
        let listed = try await c.call(BlobMethod.list.name, request: BlobListRequest(container: "photos", prefix: "size-6553"), as: BlobListResponse.self, metadata: a).message
        #expect(listed.blobs.map(\.name) == ["size-65535.bin", "size-65536.bin", "size-65537.bin"])
        let page = try await c.call(BlobMethod.list.name, request: BlobListRequest(container: "photos", maxResults: 2), as: BlobListResponse.self, metadata: a).message
        #expect(page.blobs.count == 2 && !page.nextPageToken.isEmpty)

        // Limits.
        let tooLong = String(repeating: "n", count: 1025)
        await expectCode(.invalidArgument, contains: "1-1024") {
            _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: tooLong), as: BlobProperties.self, metadata: a)
        }

        // Cross-account denial, forged and missing tokens.
        let bobOnA = bob.merging(["account": "acct-a"]) { $1 }
        await expectCode(.permissionDenied) { _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "size-1.bin"), as: BlobGetResponse.self, metadata: bobOnA) }
        await expectCode(.permissionDenied) { _ = try await c.call(BlobMethod.list.name, request: BlobListRequest(container: "photos"), as: BlobListResponse.self, metadata: bobOnA) }
        await expectCode(.permissionDenied) { _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: "size-1.bin"), as: BlobProperties.self, payload: [[0]], metadata: bobOnA) }
        var forged = a
        let token = a["authorization"]!
        forged["authorization"] = String(token.dropLast(4)) + (token.hasSuffix("AAAA") ? "BBBB" : "AAAA")
        await expectCode(.unauthenticated) { _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "size-1.bin"), as: BlobGetResponse.self, metadata: forged) }
        // A client cannot set the account context itself: bob, authorized for acct-b, sends a
        // header whose account_context names acct-a; the worker still runs the call as acct-b.
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "docs", name: "bob.txt"), as: BlobProperties.self, payload: [[1]], metadata: b)
        let forgedContext = AccountContext(accountID: "acct-a", tenant: infoA.tenant, managedIdentity: infoA.managedIdentity,
                                           wrappedKey: [UInt8](repeating: 7, count: 60), provider: infoA.encryption.provider,
                                           keyID: infoA.encryption.keyID, keyVersion: 1, accountKeyVersion: 1, principalID: "mallory")
        let raw = try ClientLimitsTests.rawClient(cluster)
        defer { raw.close() }
        try raw.send(ClientLimitsTests.request(BlobMethod.list.name, BlobListRequest(container: "docs").serialized(), b, timeoutMs: 10_000,
                                               accountContext: forgedContext))
        let reply = try #require(try raw.receive(timeoutMs: 10_000))
        let replyHeader = try reply[3].withUnsafeBytes { try ReplyHeader(serialized: $0) }
        #expect(replyHeader.status.code == .ok, "\(replyHeader.status.message)")
        #expect(try BlobListResponse(serialized: reply[4].bytes).blobs.map(\.name) == ["bob.txt"])

        // Nothing in clear in storage: content, object/container names, metadata values.
        let needles = [Array("size-65537.bin".utf8), Array("photos".utf8), Array(secretValue.utf8), Array(big[5_000_000..<5_000_064]),
                       Array("acct-a".utf8)]
        let stored = try await on.storedObjects()
        #expect(stored.count > 20, "the scan saw \(stored.count) stored objects")
        for (name, bytes) in stored {
            for needle in needles {
                let found = contains(bytes, needle) || contains(Array(name.utf8), needle)
                #expect(!found, "\(name) holds '\(String(decoding: needle.prefix(20), as: UTF8.self))' in clear")
            }
        }

        // Switch to a customer key: refused without the grant, then done; data stays readable.
        let mi = try await c.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "acct-a"), as: AccountInfo.self, metadata: alice).message.managedIdentity
        _ = try await c.call("atrest.v1.KeyVault/CreateKey", request: CreateKeyRequest(provider: "customer", spec: KeySpec(keyID: "cmk1")), as: KeyResponse.self, metadata: alice)
        await expectCode(.permissionDenied, contains: "wrap") {
            _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-a", keySource: "customer", keyID: "cmk1"),
                                 as: AccountEncryption.self, metadata: alice)
        }
        _ = try await c.call("atrest.v1.KeyVault/GrantAccess", request: AccessRequest(AccessGrant(key: KeyRef(provider: "customer", keyID: "cmk1"), principalID: mi, operations: [.wrap, .unwrap])),
                             as: AccessResponse.self, metadata: alice)
        let switched = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-a", keySource: "customer", keyID: "cmk1"),
                                        as: AccountEncryption.self, metadata: alice).message
        #expect(switched.keySource == "customer" && KeyRef(provider: switched.provider, keyID: switched.keyID).named.keyID == "cmk1")
        try await expectAllReadable(c, a, blobs)

        // Revocation: disable the customer key; reads, writes and lists fail with the key error; acct-b keeps working.
        _ = try await c.call("atrest.v1.KeyVault/DisableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmk1")), as: KeyResponse.self, metadata: alice)
        let started = ContinuousClock.now
        var failure: RPCStatus?
        while failure == nil, ContinuousClock.now - started < .seconds(10) {
            do {
                _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: "size-1.bin"), as: BlobGetResponse.self, metadata: a)
                try await Task.sleep(for: .milliseconds(20))
            } catch let status as RPCStatus { failure = status }
        }
        print("revocation took effect after \(ContinuousClock.now - started)")
        #expect([.failedPrecondition, .permissionDenied].contains(failure?.code) && failure?.message.contains("not accessible") == true, "\(String(describing: failure))")
        await expectCode(.failedPrecondition, contains: "not accessible") { _ = try await c.call(BlobMethod.list.name, request: BlobListRequest(container: "photos"), as: BlobListResponse.self, metadata: a) }
        await expectCode(.failedPrecondition, contains: "not accessible") { _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "photos", name: "new"), as: BlobProperties.self, payload: [[1]], metadata: a) }
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "docs", name: "still-works"), as: BlobProperties.self, payload: [[9, 9]], metadata: b)
        _ = try await c.call("atrest.v1.KeyVault/EnableKey", request: KeyRequest(KeyRef(provider: "customer", keyID: "cmk1")), as: KeyResponse.self, metadata: alice)
        try await eventually { try await expectAllReadable(c, a, blobs) }

        // The vault's audit log holds no account, tenant or blob name in clear
        // (the denial above named account 'acct-a'); the tenant's administrator reads them back.
        let auditBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(cluster.root)/vault/audit.log")))
        for needle in ["acct-a", "acct-b", "size-65537.bin", "photos", "'t1'", "\tt1\t"] {
            let found = contains(auditBytes, Array(needle.utf8))
            #expect(!found, "audit.log holds '\(needle)' in clear")
        }
        #expect(contains(auditBytes, Array("of account 'acct~".utf8)) && contains(auditBytes, Array("\ttenant~".utf8)))
        let aliceView = try await c.call("atrest.v1.KeyVault/GetAuditLog", request: GetAuditLogRequest(), as: GetAuditLogResponse.self, metadata: alice).message.entries
        #expect(aliceView.contains { $0.tenantID == "t1" } && aliceView.contains { $0.detail.contains("of account 'acct-a'") })

        // Back to managed; then rotate the managed KEK (the service's key: the tenant's
        // administrator may not, the system administrator may): the account picks up
        // the new version, old data readable.
        _ = try await c.call("atrest.v1.Account/SetEncryption", request: AccountSetEncryptionRequest(accountID: "acct-a", keySource: "managed"),
                             as: AccountEncryption.self, metadata: alice)
        try await expectAllReadable(c, a, blobs)
        let managedKeyID = try await c.call("atrest.v1.Account/GetEncryption", request: AccountRequest(accountID: "acct-a"), as: AccountEncryption.self, metadata: alice).message.keyID
        let managedKey = KeyRef(provider: "managed", keyID: managedKeyID)
        await expectCode(.permissionDenied) { _ = try await c.call("atrest.v1.KeyVault/RotateKey", request: RotateKeyRequest(managedKey), as: KeyResponse.self, metadata: alice) }
        let system = try await cluster.systemKeyAdministrator()
        _ = try await c.call("atrest.v1.KeyVault/RotateKey", request: RotateKeyRequest(managedKey), as: KeyResponse.self, metadata: system)
        try await eventually {
            let e = try await c.call("atrest.v1.Account/GetEncryption", request: AccountRequest(accountID: "acct-a"), as: AccountEncryption.self, metadata: alice).message
            guard e.keyVersion == 2 else { throw RPCStatus(.failedPrecondition, "still at version \(e.keyVersion)") }
        }
        try await expectAllReadable(c, a, blobs)

        // Tamper with one object file: it reads as an integrity error.
        _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "tamper"), as: EmptyMessage.self, metadata: a)
        let before = try await on.objectVersionNames()
        _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: "tamper", name: "victim"), as: BlobProperties.self, payload: [Array(repeating: 7, count: 1000)], metadata: a)
        let new = try await on.objectVersionNames().subtracting(before)
        try #require(new.count == 1, "the put made \(new.count) object versions")
        try await on.tamper(new.first!)
        await expectCode(.dataLoss) { _ = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "tamper", name: "victim"), as: BlobGetResponse.self, metadata: a) }
    }
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first, Array(haystack[i..<i + needle.count]) == needle { return true }
        i += 1
    }
    return false
}

func expectCode(_ code: StatusCode, contains text: String = "", reason: String? = nil, _ body: () async throws -> Void,
                sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected \(code), the call succeeded", sourceLocation: sourceLocation)
    } catch let status as RPCStatus {
        #expect(status.code == code, "\(status)", sourceLocation: sourceLocation)
        if !text.isEmpty { #expect(status.message.contains(text), "\(status)", sourceLocation: sourceLocation) }
        if let reason { #expect(status.details["reason"] == reason, "\(status) \(status.details)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

func expectAllReadable(_ c: RPCClient, _ metadata: [String: String], _ blobs: [String: [UInt8]]) async throws {
    for (name, data) in blobs {
        let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: "photos", name: name), as: BlobGetResponse.self, metadata: metadata)
        #expect(got.payload.flatMap { $0 } == data, "\(name)")
    }
}

/// Retries `body` for up to `window` (an asynchronous effect, not a timing assertion).
func eventually(within window: Duration = .seconds(10), _ body: () async throws -> Void) async throws {
    let start = ContinuousClock.now
    while true {
        do { return try await body() } catch {
            if ContinuousClock.now - start > window { throw error }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
