import AtRestClient
import AtRestCrypto
import AtRestIdentity
import AtRestKeyVault
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Synchronization
import Testing

/// What the front door's public endpoint serves, against the real processes:
/// the forwarding allow-list, login floods, tokens with unknown kids.
@Suite("Public endpoint", .serialized)
struct PublicEndpointTests {
    static let serviceOnly = [
        "atrest.v1.Identity/ManagedIdentityToken", "atrest.v1.Identity/CreateManagedIdentity",
        "atrest.v1.Identity/AccountIdentity", "atrest.v1.Identity/MoveAccount",
        "atrest.v1.KeyVault/RegisterReference", "atrest.v1.KeyVault/UnregisterReference", "atrest.v1.KeyVault/AccountMoved",
        "atrest.v1.KeyVault/GenerateWrappedKey", "atrest.v1.KeyVault/Rewrap",
        "atrest.v1.KeyVault/Wrap", "atrest.v1.KeyVault/Unwrap",
    ]

    @Test func serviceMethodsAreRefusedWhateverTheTokenAndUserMethodsStillWork() async throws {
        let cluster = try LocalCluster(LocalClusterOptions(rootTag: "public"))
        defer { cluster.stop() }
        // A leaked worker.secret, used from outside through the front door.
        let worker = try await cluster.login("worker", try cluster.secret("worker"))
        for method in Self.serviceOnly + ["atrest.v1.KeyVault/NoSuchVerb", "atrest.v1.Identity/NoSuchVerb"] {
            let error = await #expect(throws: RPCStatus.self, "\(method)") {
                _ = try await cluster.client.call(method, body: [], options: CallOptions(timeout: .seconds(10), metadata: worker))
            }
            #expect(error?.code == .permissionDenied, "\(method): \(error?.message ?? "")")
            #expect(error?.message.contains("not served at the public endpoint") == true, "\(method)")
        }
        // The user methods are forwarded as before.
        let me = try await cluster.identityClient(token: worker["authorization"].map { String($0.dropFirst(7)) }).whoAmI()
        #expect(me.kind == "service")
        let admin = try await cluster.adminIdentity()
        _ = try await admin.createTenant("acme")
        _ = try await admin.createUser(tenant: "acme", name: "alice", secret: "alice-secret-123")
        _ = try await admin.grantRole(IdentityRoleRequest(tenant: "system", name: "admin", role: "keyAdministrator"))
        #expect(try await cluster.identityClient().keys().keys.isEmpty == false)
        let keyAdmin = VaultClient(ServiceClient(rpc: cluster.client, token: try await cluster.token("admin", try cluster.secret("admin"))))
        let key = try await keyAdmin.createKey(provider: "customer", KeySpec(keyID: "k1"))
        #expect(try await keyAdmin.listKeys().contains { $0.ref == key.ref })
        #expect(try await keyAdmin.keyStatus(key.ref).key.named.keyID == "k1")
        #expect(try await keyAdmin.listGrants(key.ref).isEmpty)
        #expect(try await keyAdmin.auditLog(after: 0, limit: 100).isEmpty == false)
        let alice = AccountClient(ServiceClient(rpc: cluster.client, token: try await cluster.token(tenant: "acme", "alice", "alice-secret-123")))
        #expect(try await alice.create("acct-a").accountID == "acct-a")
        // Services still reach the identity's service methods on its own endpoint.
        let direct = try RPCClient(endpoint: cluster.identity.endpoint)
        defer { direct.close() }
        let viaIdentity = IdentityClient(ServiceClient(rpc: direct, token: try await cluster.token("worker", try cluster.secret("worker"))))
        let identity = try await viaIdentity.accountIdentity(account: "acct-a")
        #expect(identity.accountID == "acct-a")
    }

    @Test func aLoginFloodIsRefusedAtOnceWhileWhoAmIAndServiceLoginsStayFast() async throws {
        let cluster = try LocalCluster(LocalClusterOptions(rootTag: "flood"))
        defer { cluster.stop() }
        let direct = try RPCClient(endpoint: cluster.identity.endpoint)
        defer { direct.close() }
        let directIdentity = IdentityClient(ServiceClient(rpc: direct, timeout: .seconds(10)))
        let workerSecret = try cluster.secret("worker")
        // The worker logged in before (as a running worker has): its renewals are what must stay fast.
        let workerToken = try await directIdentity.login(tenant: "", clientID: "worker", secret: workerSecret).token
        let whoAmI = IdentityClient(ServiceClient(rpc: direct, token: workerToken, timeout: .seconds(10)))

        // 1,000 logins for unknown users through the front door, from 4 connections.
        let clients = try (0..<4).map { _ in try RPCClient(endpoint: cluster.frontDoor.endpoint) }
        defer { for client in clients { client.close() } }
        let refused = RefusalCount()
        let flood = Task {
            try await withThrowingTaskGroup(of: RPCStatus?.self) { group in
                for index in 0..<1000 {
                    let client = clients[index % clients.count]
                    group.addTask {
                        let request = IdentityLoginRequest(tenant: "", clientID: "nobody-\(index)", secret: "wrong-secret-\(index)")
                        do {
                            _ = try await client.call("atrest.v1.Identity/Login", request: request, as: IdentityToken.self, timeout: .seconds(20))
                            return nil
                        } catch let status as RPCStatus {
                            if status.code == .resourceExhausted { refused.increment() }
                            return status
                        }
                    }
                }
                return try await group.reduce(into: [RPCStatus?]()) { $0.append($1) }
            }
        }
        // Once the identity refuses logins, its hashing slots are full: measure then
        // (bounded: without a limit no login is ever refused).
        let waitUntil = ContinuousClock.now + .seconds(30)
        while refused.value == 0, ContinuousClock.now < waitUntil { try await Task.sleep(for: .milliseconds(1)) }
        #expect(refused.value > 0, "no login was refused within 30 s of the flood")
        let clock = ContinuousClock()
        var me: IdentityWhoAmI?
        let whoAmITime = try await clock.measure { me = try await whoAmI.whoAmI() }
        var renewed: IdentityToken?
        let loginTime = try await clock.measure {
            renewed = try await directIdentity.login(tenant: "", clientID: "worker", secret: workerSecret)
        }
        let results = try await flood.value
        print("login flood: WhoAmI \(whoAmITime), service login \(loginTime), refused \(refused.value) of \(results.count)")
        #expect(me?.name == "worker")
        #expect(renewed?.token.isEmpty == false)
        #expect(whoAmITime < .milliseconds(100))
        #expect(loginTime < .milliseconds(100))
        // Every flood call was answered: refused at once with advice, or a failed login; none waited for its deadline.
        #expect(results.count == 1000)
        let codes = Dictionary(grouping: results.compactMap { $0 }, by: \.code).mapValues(\.count)
        #expect(Set(codes.keys).isSubset(of: [.resourceExhausted, .unauthenticated]), "\(codes)")
        #expect((codes[.resourceExhausted] ?? 0) > 900, "\(codes)")
        #expect(results.compactMap { $0 }.filter { $0.code == .resourceExhausted }.allSatisfy { $0.retryAfterMs > 0 })
    }

    @Test func aTokenWithAnUnknownKidIsUnauthenticatedOnBlobAndAccountCalls() async throws {
        let cluster = try LocalCluster(LocalClusterOptions(rootTag: "kid"))
        defer { cluster.stop() }
        let admin = try await cluster.adminIdentity()
        _ = try await admin.createTenant("acme")
        _ = try await admin.createUser(tenant: "acme", name: "alice", secret: "alice-secret-123")
        let token = try await cluster.token(tenant: "acme", "alice", "alice-secret-123")
        let alice = AccountClient(ServiceClient(rpc: cluster.client, token: token))
        _ = try await alice.create("acct-kid")
        // Same token, signature kept, header naming a kid the identity never published.
        let parts = token.split(separator: ".").map(String.init)
        let header = try #require(Base64URL.decode(parts[0]))
        var json = try #require(try JSONSerialization.jsonObject(with: Data(header)) as? [String: String])
        json["kid"] = "k-unknown-0001"
        let forgedHeader = Base64URL.encode(Array(try JSONSerialization.data(withJSONObject: json)))
        let forged = ["authorization": "Bearer " + [forgedHeader, parts[1], parts[2]].joined(separator: ".")]

        for round in 0..<3 {
            let blob = await #expect(throws: RPCStatus.self) {
                _ = try await cluster.client.call("atrest.v1.Blob/ListContainers", request: EmptyMessage(), as: ContainerListResponse.self,
                                                  timeout: .seconds(10), metadata: forged.merging(["account": "acct-kid"]) { $1 },
                                                  idempotent: true)
            }
            #expect(blob?.code == .unauthenticated, "round \(round): \(blob?.message ?? "")")
            #expect(blob?.details["reason"] == "unknownKid")
            let account = await #expect(throws: RPCStatus.self) {
                _ = try await cluster.client.call("atrest.v1.Account/Get", request: AccountRequest(accountID: "acct-kid"), as: AccountInfo.self,
                                                  timeout: .seconds(10), metadata: forged, idempotent: true)
            }
            #expect(account?.code == .unauthenticated, "round \(round): \(account?.message ?? "")")
            #expect(account?.details["reason"] == "unknownKid")
        }
        // The real token still works.
        #expect(try await alice.get("acct-kid").accountID == "acct-kid")
    }
}

final class RefusalCount: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
