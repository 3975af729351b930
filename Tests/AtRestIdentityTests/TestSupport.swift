import AtRestCrypto
import AtRestLocalState
import AtRestTesting
import AtRestWire
import Glibc
import Synchronization
@testable import AtRestIdentity

/// A clock tests move by hand (no sleeping, no timed assertions).
final class TestClock: Sendable {
    private let seconds: Mutex<Int64>
    init(_ start: Int64 = 1_800_000_000) { seconds = Mutex(start) }
    func now() -> Int64 { seconds.withLock { $0 } }
    func advance(_ delta: Int64) { seconds.withLock { $0 += delta } }
}

/// A fresh directory under /tmp, unique per test, removed when the test process exits.
func makeTempDirectory() -> String {
    var template = Array("/tmp/atrest-identity-test-XXXXXX".utf8CString)
    let path = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
    ScratchDirectories.removeAtExit(path)
    return path
}

/// A test configuration: low PBKDF2 cost, injected clock, no root key from the environment.
func testConfig(_ dir: String, clock: TestClock) -> IdentityConfiguration {
    var config = IdentityConfiguration(dataDirectory: dir)
    config.passwordIterations = 1000
    config.rootKeyEnvironmentVariable = nil
    config.now = { clock.now() }
    config.servicePrincipals = [ServicePrincipalSpec(name: "frontdoor")]
    return config
}

/// A running service over `dir` plus helpers to call it in-process.
struct Harness {
    let service: IdentityService
    let router: RPCRouter
    let dir: String
    let clock: TestClock

    init(dir: String = makeTempDirectory(), clock: TestClock = TestClock(), configure: (inout IdentityConfiguration) -> Void = { _ in }) async throws {
        var config = testConfig(dir, clock: clock)
        configure(&config)
        service = try await IdentityService(config: config)
        router = service.router
        self.dir = dir
        self.clock = clock
    }

    func call<Reply: WireMessage>(_ verb: String, _ request: some WireMessage, token: String? = nil,
                                  as: Reply.Type = Reply.self) async throws -> Reply {
        var metadata: [String: String] = [:]
        if let token { metadata["authorization"] = "Bearer \(token)" }
        let header = RPCHeader(method: IdentityMethod.service + "/" + verb, metadata: metadata)
        let response = try await router.handle(RPCRequest(header: header, body: request.serialized()))
        return try Reply(serialized: response.body)
    }

    func fileSecret(_ name: String) throws -> String {
        let bytes = try #require(try LocalFile.read("\(dir)/credentials/\(name).secret"))
        return String(decoding: bytes, as: UTF8.self).trimmingNewlines
    }

    func login(tenant: String = "", _ name: String, _ secret: String) async throws -> IdentityToken {
        try await call("Login", IdentityLoginRequest(tenant: tenant, clientID: name, secret: secret))
    }

    func adminToken() async throws -> String { try await login("admin", try fileSecret("admin")).token }
    func serviceToken() async throws -> String { try await login("frontdoor", try fileSecret("frontdoor")).token }

    /// Creates tenant `tenant` and a user in it with `secret`; returns the user's principal.
    @discardableResult
    func makeUser(tenant: String, name: String, secret: String) async throws -> IdentityPrincipal {
        let admin = try await adminToken()
        if (try? await call("CreateTenant", IdentityCreateTenantRequest(tenant: tenant), token: admin, as: IdentityTenant.self)) == nil {
            // Already exists: fine for tests that add several users.
        }
        let created: IdentityCreatedPrincipal = try await call(
            "CreateUser", IdentityCreateUserRequest(tenant: tenant, name: name, secret: secret), token: admin)
        return created.principal
    }

    /// A verifier as the front door would build it: offline, fed by the Keys method.
    func frontDoorVerifier(cache: Int = 0) async throws -> TokenVerifier {
        let keys: IdentityKeySet = try await call("Keys", EmptyMessage())
        let router = router
        return try TokenVerifier(
            configuration: .init(issuer: service.config.issuer, audience: service.config.audience, cacheCapacity: cache),
            keys: keys.keys, now: { clock.now() },
            refresh: {
                let response = try await router.handle(RPCRequest(header: RPCHeader(method: "atrest.v1.Identity/Keys"), body: []))
                return try IdentityKeySet(serialized: response.body)
            })
    }
}

/// Runs `body` and returns the RPCStatus it threw (fails the test if it did not throw one).
func status(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> RPCStatus? {
    do {
        try await body()
        Issue.record("expected an RPCStatus, got success", sourceLocation: sourceLocation)
        return nil
    } catch let status as RPCStatus {
        return status
    } catch {
        Issue.record("expected an RPCStatus, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

import Testing
import AtRestTokens
