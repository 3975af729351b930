import AtRestCrypto
import AtRestWire
import FoundationEssentials
import Glibc
import Testing
@testable import AtRestIdentity

/// Login, token shape, and every rejection the verifier must make.
@Suite struct TokenTests {
    @Test func loginIssuesAVerifiableTokenWithTheExpectedClaims() async throws {
        let h = try await Harness()
        let user = try await h.makeUser(tenant: "contoso", name: "alice", secret: "alice-secret-123")
        let token = try await h.login(tenant: "contoso", "alice", "alice-secret-123")
        #expect(token.tokenType == "Bearer")
        #expect(token.principalID == user.principalID)
        #expect(token.expiresAtUnix == h.clock.now() + 3600)
        let claims = try await h.frontDoorVerifier().verify(token.token)
        #expect(claims.subject == user.principalID)
        #expect(claims.tenant == "contoso")
        #expect(claims.audience == "atrest")
        #expect(claims.issuer == "atrest-identity")
        #expect(claims.kind == "user" && claims.name == "alice")
        #expect(claims.expiresAt - claims.issuedAt == 3600)
        #expect(!claims.tokenID.isEmpty)
        // The header is exactly what a JWT library expects.
        let header = try #require(Base64URL.decode(token.token.split(separator: ".")[0]))
        let json = try JSONDecoder().decode([String: String].self, from: Data(header))
        let activeKid = await h.keys().activeKid
        #expect(json["alg"] == "EdDSA" && json["typ"] == "JWT" && json["kid"] == activeKid)
        // WhoAmI reports the same.
        let who: IdentityWhoAmI = try await h.call("WhoAmI", EmptyMessage(), token: token.token)
        #expect(who.principalID == user.principalID && who.tenant == "contoso" && who.name == "alice")
    }

    @Test func tokenLifetimeIsConfigurable() async throws {
        let h = try await Harness { $0.tokenLifetimeSeconds = 120 }
        let token = try await h.login("admin", try h.fileSecret("admin"))
        #expect(token.expiresAtUnix == h.clock.now() + 120)
    }

    @Test func tokenVerifiesWithPythonCryptography() async throws {
        guard let python = Self.pythonWithCryptography() else {
            // Skipped with a reason: no independent implementation on this machine.
            print("SKIP tokenVerifiesWithPythonCryptography: python3 with the 'cryptography' package is not available")
            return
        }
        let h = try await Harness()
        let token = try await h.login("admin", try h.fileSecret("admin")).token
        let keys = await h.keys()
        let key = try #require(keys.keys.first { $0.kid == keys.activeKid })
        let script = """
        import base64, json, sys
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        def b64(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        token, x = sys.argv[1], sys.argv[2]
        h, p, s = token.split(".")
        header = json.loads(b64(h))
        assert header["alg"] == "EdDSA", header
        Ed25519PublicKey.from_public_bytes(b64(x)).verify(b64(s), (h + "." + p).encode())
        claims = json.loads(b64(p))
        print("OK", header["kid"], claims["sub"], claims["tid"], claims["aud"])
        try:
            Ed25519PublicKey.from_public_bytes(b64(x)).verify(b64(s), (h + "." + p + "x").encode())
            print("TAMPER-ACCEPTED")
        except Exception:
            print("TAMPER-REJECTED")
        """
        let output = try Self.run(python, ["-c", script, token, key.x])
        let claims = try await h.frontDoorVerifier().verify(token)
        #expect(output.contains("OK \(keys.activeKid) \(claims.subject) system atrest"))
        #expect(output.contains("TAMPER-REJECTED"))
    }

    @Test func wrongSecretAndUnknownPrincipalAreUnauthenticated() async throws {
        let h = try await Harness()
        try await h.makeUser(tenant: "contoso", name: "alice", secret: "alice-secret-123")
        let wrong = await status { _ = try await h.login(tenant: "contoso", "alice", "alice-secret-124") }
        #expect(wrong?.code == .unauthenticated)
        #expect(wrong?.message.contains("unknown principal or wrong secret") == true)
        let unknown = await status { _ = try await h.login(tenant: "contoso", "mallory", "alice-secret-123") }
        #expect(unknown?.code == .unauthenticated)
        // Same words for both, so the answer does not reveal which names exist.
        #expect(unknown?.message.replacing("mallory", with: "alice") == wrong?.message)
        let otherTenant = await status { _ = try await h.login(tenant: "fabrikam", "alice", "alice-secret-123") }
        #expect(otherTenant?.code == .unauthenticated)
    }

    @Test func repeatedFailedLoginsAreSlowedDown() async throws {
        let h = try await Harness()
        try await h.makeUser(tenant: "contoso", name: "bob", secret: "bob-secret-12345")
        for _ in 0..<3 {
            #expect(await status { _ = try await h.login(tenant: "contoso", "bob", "nope-nope-nope") }?.code == .unauthenticated)
        }
        let fourth = await status { _ = try await h.login(tenant: "contoso", "bob", "nope-nope-nope") }
        #expect(fourth?.code == .unauthenticated)
        #expect(fourth?.retryAfterMs == 1000)
        // Locked: even the right secret is refused without being checked.
        let locked = await status { _ = try await h.login(tenant: "contoso", "bob", "bob-secret-12345") }
        #expect(locked?.code == .resourceExhausted)
        #expect((locked?.retryAfterMs ?? 0) > 0)
        h.clock.advance(1)
        // The next failure doubles the delay.
        let fifth = await status { _ = try await h.login(tenant: "contoso", "bob", "nope-nope-nope") }
        #expect(fifth?.retryAfterMs == 2000)
        h.clock.advance(2)
        let ok = try await h.login(tenant: "contoso", "bob", "bob-secret-12345")
        #expect(!ok.token.isEmpty)
        // Success resets: the next failure is free again.
        #expect(await status { _ = try await h.login(tenant: "contoso", "bob", "nope-nope-nope") }?.retryAfterMs == 0)
        // Other principals are not affected.
        #expect(!(try await h.adminToken()).isEmpty)
    }

    @Test func expiredAndNotYetValidTokensAreRejected() async throws {
        let h = try await Harness()
        let token = try await h.adminToken()
        let verifier = try await h.frontDoorVerifier(cache: 100)
        _ = try verifier.verifyWithKnownKeys(token)
        h.clock.advance(3600 + 60)
        let expired = await status { _ = try await verifier.verify(token) }
        #expect(expired?.code == .unauthenticated)
        #expect(expired?.message.contains("expired") == true)

        let issuer = await h.service.currentIssuer()
        let now = h.clock.now()
        var claims = TokenClaims(issuer: "atrest-identity", subject: "usr_x", tenant: "system", audience: "atrest", roles: [],
                                 issuedAt: now, expiresAt: now + 600, notBefore: now + 300, tokenID: "j1", kind: "user", name: "x")
        let early = await status { _ = try await verifier.verify(try issuer.sign(claims)) }
        #expect(early?.code == .unauthenticated)
        #expect(early?.message.contains("not valid for another 300 s") == true)
        claims.notBefore = nil
        claims.issuedAt = now + 400
        let future = await status { _ = try await verifier.verify(try issuer.sign(claims)) }
        #expect(future?.message.contains("in the future") == true)
        // Within the clock skew: accepted.
        claims.issuedAt = now + 30
        claims.notBefore = now + 30
        #expect(try await verifier.verify(try issuer.sign(claims)).subject == "usr_x")
    }

    @Test func wrongAudienceAndIssuerAreRejected() async throws {
        let h = try await Harness()
        let issuer = await h.service.currentIssuer()
        let verifier = try await h.frontDoorVerifier()
        let now = h.clock.now()
        var claims = TokenClaims(issuer: "atrest-identity", subject: "usr_x", tenant: "system", audience: "other-service",
                                 roles: [], issuedAt: now, expiresAt: now + 600, tokenID: "j", kind: "user", name: "x")
        let audience = await status { _ = try await verifier.verify(try issuer.sign(claims)) }
        #expect(audience?.code == .unauthenticated)
        #expect(audience?.message.contains("audience 'other-service' does not match 'atrest'") == true)
        claims.audience = "atrest"
        claims.issuer = "evil"
        let iss = await status { _ = try await verifier.verify(try issuer.sign(claims)) }
        #expect(iss?.message.contains("issuer 'evil'") == true)
    }

    @Test func tamperedTokensAreRejected() async throws {
        let h = try await Harness()
        try await h.makeUser(tenant: "contoso", name: "alice", secret: "alice-secret-123")
        let token = try await h.login(tenant: "contoso", "alice", "alice-secret-123").token
        let verifier = try await h.frontDoorVerifier(cache: 100)
        _ = try verifier.verifyWithKnownKeys(token)  // cached now: tampering must not hit the cache
        let parts = token.split(separator: ".").map(String.init)

        // Payload changed to claim another tenant and more roles, signature kept.
        var payload = try JSONSerializationLite.object(Base64URL.decode(parts[1])!)
        payload["tid"] = "fabrikam"
        let forged = parts[0] + "." + Base64URL.encode(try payload.encoded()) + "." + parts[2]
        let p = await status { _ = try await verifier.verify(forged) }
        #expect(p?.code == .unauthenticated)
        #expect(p?.message.contains("signature does not verify") == true)

        // One signature byte flipped.
        var signature = Base64URL.decode(parts[2])!
        signature[5] ^= 0x40
        let s = await status { _ = try await verifier.verify(parts[0] + "." + parts[1] + "." + Base64URL.encode(signature)) }
        #expect(s?.message.contains("signature does not verify") == true)

        // Garbage shapes.
        for bad in ["", "abc", "a.b", "a.b.c.d", parts[0] + "." + parts[1] + ".", "!!.??.**"] {
            #expect(await status { _ = try await verifier.verify(bad) }?.code == .unauthenticated)
        }
    }

    @Test func unknownKidAndForeignKeyAreRejected() async throws {
        let h = try await Harness()
        let verifier = try await h.frontDoorVerifier()
        let now = h.clock.now()
        let claims = TokenClaims(issuer: "atrest-identity", subject: "usr_x", tenant: "system", audience: "atrest",
                                 roles: ["identityAdministrator"], issuedAt: now, expiresAt: now + 600, tokenID: "j",
                                 kind: "user", name: "x")
        let foreignKey = try Ed25519.PrivateKey()
        // Another key under an unknown kid: refresh happens, kid still unknown.
        let unknown = await status { _ = try await verifier.verify(try CompactJWS.sign(claims, kid: "kNOPE", key: foreignKey)) }
        #expect(unknown?.code == .unauthenticated)
        #expect(unknown?.message.contains("signing key 'kNOPE' is unknown") == true)
        // Another key claiming the real kid.
        let kid = await h.keys().activeKid
        let foreign = await status { _ = try await verifier.verify(try CompactJWS.sign(claims, kid: kid, key: foreignKey)) }
        #expect(foreign?.message.contains("signature does not verify") == true)
    }

    @Test func algNoneAndHS256AreRejectedBeforeAnyKeyIsUsed() async throws {
        let h = try await Harness()
        let verifier = try await h.frontDoorVerifier()
        let real = try await h.adminToken()
        let parts = real.split(separator: ".").map(String.init)
        let kid = await h.keys().activeKid
        func header(_ alg: String) -> String { Base64URL.encode(Array("{\"alg\":\"\(alg)\",\"typ\":\"JWT\",\"kid\":\"\(kid)\"}".utf8)) }
        let none = await status { _ = try await verifier.verify(header("none") + "." + parts[1] + ".") }
        #expect(none?.code == .unauthenticated)
        #expect(none?.message.contains("alg 'none' is not allowed; unsigned tokens") == true)
        // HS256 "signed" with the public key as HMAC secret (the classic confusion attack).
        let hs = await status { _ = try await verifier.verify(header("HS256") + "." + parts[1] + "." + parts[2]) }
        #expect(hs?.message.contains("alg 'HS256' is not allowed; only EdDSA") == true)
        let noAlg = Base64URL.encode(Array("{\"typ\":\"JWT\"}".utf8))
        #expect(await status { _ = try await verifier.verify(noAlg + "." + parts[1] + "." + parts[2]) }?.message.contains("no 'alg'") == true)
    }

    @Test func unknownKidRefreshIsRateLimited() async throws {
        let h = try await Harness()
        let refreshes = Counter()
        let keys = await h.keys()
        let service = h.service
        let verifier = try TokenVerifier(
            configuration: .init(issuer: "atrest-identity", audience: "atrest", minRefreshIntervalSeconds: 30, cacheCapacity: 0),
            keys: keys.keys, now: { h.clock.now() }, refreshClock: { h.clock.now() * 1000 },
            refresh: { refreshes.increment(); return await service.keySet() })
        let admin = try await h.adminToken()
        #expect(try await verifier.verify(admin).name == "admin")
        #expect(refreshes.value == 0)
        // Rotate: the new kid is unknown to the verifier, one refresh fetches it.
        let rotation: IdentityRotation = try await h.call("RotateSigningKey", EmptyMessage(), token: admin)
        let fresh = try await h.adminToken()
        #expect(try await verifier.verify(fresh).name == "admin")
        #expect(refreshes.value == 1)
        #expect(verifier.knownKids.contains(rotation.activeKid))
        // A flood of forged kids does not cause a flood of refreshes.
        let forged = try CompactJWS.sign(try await verifier.verify(fresh), kid: "kForged", key: try Ed25519.PrivateKey())
        for _ in 0..<5 { _ = await status { _ = try await verifier.verify(forged) } }
        #expect(refreshes.value == 1)
        h.clock.advance(31)
        _ = await status { _ = try await verifier.verify(forged) }
        #expect(refreshes.value == 2)
    }

    static func pythonWithCryptography() -> String? {
        for candidate in ["/root/.pyenv/shims/python3", "/usr/local/bin/python3", "/usr/bin/python3"] where access(candidate, X_OK) == 0 {
            if let out = try? run(candidate, ["-c", "import cryptography; print('yes')"]), out.contains("yes") { return candidate }
        }
        return nil
    }

    /// Runs a process and returns its stdout (stderr inherited).
    static func run(_ path: String, _ arguments: [String]) throws -> String {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw IdentityError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        close(pipe[1])
        guard rc == 0 else { close(pipe[0]); throw IdentityError("spawn \(path) failed: \(rc)") }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(pipe[0], &buffer, buffer.count)
            if n <= 0 { break }
            output += buffer[..<n]
        }
        close(pipe[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return String(decoding: output, as: UTF8.self)
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

extension Harness {
    func keys() async -> IdentityKeySet { await service.keySet() }
}

/// Just enough JSON object editing for the tamper test.
enum JSONSerializationLite {
    struct Object {
        var fields: [String: JSONValue]
        subscript(key: String) -> String? {
            get { if case .string(let s)? = fields[key] { s } else { nil } }
            set { fields[key] = newValue.map(JSONValue.string) }
        }
        func encoded() throws -> [UInt8] { Array(try JSONEncoder().encode(fields)) }
    }

    enum JSONValue: Codable {
        case string(String), number(Int64), array([String])
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .string(s) }
            else if let n = try? c.decode(Int64.self) { self = .number(n) }
            else { self = .array(try c.decode([String].self)) }
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .number(let n): try c.encode(n)
            case .array(let a): try c.encode(a)
            }
        }
    }

    static func object(_ bytes: [UInt8]) throws -> Object {
        Object(fields: try JSONDecoder().decode([String: JSONValue].self, from: Data(bytes)))
    }
}

import Synchronization
import AtRestTokens
