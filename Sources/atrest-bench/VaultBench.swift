import ArgumentParser
import AtRestCrypto
import AtRestIdentity
import AtRestKeyVault
import AtRestMessaging
import AtRestTokens
import AtRestWire
import Glibc

/// `atrest-bench vault`: wrap and unwrap through the vault's RPC method table
/// in-process (protobuf encode/decode, policy check, provider call through the
/// C ABI, audit append), one caller and 8 concurrent, against a baseline of
/// bare AES-256-GCM seal/open of the same 32-byte key in the same run.
/// Then the same through the real socket, as atrest-keyvault serves it: an
/// `RPCServer` on tcp://127.0.0.1:* and an `RPCClient`, with every call's
/// bearer token verified by a real `TokenVerifier` (Ed25519 token signed by
/// an in-process identity service; the verifier's cache makes repeats cheap,
/// as in the service).
struct VaultBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vault", abstract: "Key vault wrap/unwrap ops/s and p50/p99 through the RPC router (in-process).")

    @Option(help: "Operations per measurement.") var ops = 20_000
    @Option(help: "Concurrent callers for the concurrent measurement.") var concurrency = 8
    @Option(help: "Provider to measure (customer, managed, ctest).") var provider = "customer"

    func run() async throws {
        var template = Array("/tmp/atrest-vault-bench-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(directory)'") }
        let spec: ProviderSpec = switch provider {
        case "managed": .managed()
        case "ctest": .cTest()
        default: .customer()
        }
        let admin = VaultCaller(principalID: "bench-admin", tenantID: "system", roles: ["vault.admin"])  // the socket token's tenant
        let app = VaultCaller(principalID: "bench-app", tenantID: "system")
        let service = try KeyVaultService(config: KeyVaultConfiguration(dataDirectory: directory, providers: [spec],
                                                                 rootKeyHex: String(repeating: "42", count: 32))) { header in
            header.bearerToken == "admin" ? admin : app
        }
        let key = KeyRef(provider: spec.name, keyID: "bench")
        _ = try service.vault.createKey(provider: spec.name, KeySpec(keyID: "bench"), caller: admin)
        _ = try service.vault.grantAccess(AccessGrant(key: key, principalID: app.principalID, operations: [.wrap, .unwrap]), caller: admin)

        let aek = try SecureRandom.bytes(32)
        let wrapBody = WrapRequest(key: key, plaintext: aek, context: Array("acct-1".utf8)).serialized()
        let wrapped = try WrapResponse(serialized: try await service.router.handle(request(KeyVaultMethod.wrap.name, wrapBody)).body).wrapped
        let unwrapBody = UnwrapRequest(wrapped: wrapped, context: Array("acct-1".utf8)).serialized()

        let kek = try SecretBytes(randomCount: 32)
        let nonce = try SecureRandom.bytes(12)
        let sealed = try AESGCM.seal(aek, using: kek, nonce: nonce)
        let baseline = try await measure(ops, 1) { _ = try AESGCM.open(sealed, using: kek, nonce: nonce) }
        print("vault bench: provider=\(spec.name) ops=\(ops), in-process router (no socket), audit on; load average \(NBDBench.loadAverage())")
        print(baseline.line("baseline AES-256-GCM open (32 B), 1 caller"))
        var inProcess: [String: Double] = [:]
        for (name, method, body) in [("wrap", KeyVaultMethod.wrap.name, wrapBody), ("unwrap", KeyVaultMethod.unwrap.name, unwrapBody)] {
            for callers in [1, concurrency] {
                let result = try await measure(ops, callers) { _ = try await service.router.handle(request(method, body)) }
                inProcess["\(name) \(callers)"] = result.opsPerSecond
                print(result.line("\(name), \(callers) caller\(callers == 1 ? "" : "s")") + "  ratio to baseline ops/s: " + fixed(result.opsPerSecond / baseline.opsPerSecond, 3))
            }
        }
        try await measureSocket(service: service, wrapBody: wrapBody, unwrapBody: unwrapBody, directory: directory, key: key,
                                admin: admin, spec: spec, inProcess: inProcess)
        print("target (issue 19): socket unwraps with \(concurrency) callers >= 0.6 of the in-process router's rate, p99 <= 1 ms")
    }

    /// Wrap/unwrap over tcp loopback through a vault whose callers are authenticated by verified tokens.
    private func measureSocket(service: KeyVaultService, wrapBody: [UInt8], unwrapBody: [UInt8], directory: String, key: KeyRef,
                               admin: VaultCaller, spec: ProviderSpec, inProcess: [String: Double]) async throws {
        var identityConfig = IdentityConfiguration(dataDirectory: directory + "/identity")
        identityConfig.passwordIterations = 1000
        identityConfig.adminSecret = "bench-admin-secret"
        let identity = try await IdentityService(config: identityConfig)
        let issuer = await identity.currentIssuer()
        let now = UnixClock.now()
        let token = try issuer.sign(TokenClaims(issuer: issuer.issuer, subject: "bench-socket-app", tenant: "system", audience: issuer.audience,
                                                roles: [], issuedAt: now, expiresAt: now + 3600, tokenID: "bench", kind: "service", name: "bench"))
        let verifier = identity.verifier
        let verified = KeyVaultService(vault: service.vault) { header in
            let claims = try await verifier.verify(header.bearerToken ?? "")
            return VaultCaller(principalID: claims.subject, tenantID: claims.tenant, roles: Set(claims.roles))
        }
        _ = try service.vault.grantAccess(AccessGrant(key: key, principalID: "bench-socket-app", operations: [.wrap, .unwrap]), caller: admin)
        let server = try RPCServer(service: verified.router, endpoint: "tcp://127.0.0.1:*")
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        // The same with no Swift thread-pool hand-off: the server starts handlers on its
        // poll thread (runsHandlersInline) and the callers run on the client's poll thread.
        var inlineConfiguration = RPCServerConfiguration()
        inlineConfiguration.runsHandlersInline = true
        let inlineServer = try RPCServer(service: verified.router, endpoint: "tcp://127.0.0.1:*", configuration: inlineConfiguration)
        defer { inlineServer.close() }
        let loopClient = try RPCClient(endpoint: inlineServer.endpoint)
        defer { loopClient.close() }
        let options = CallOptions(timeout: .seconds(10), metadata: ["authorization": "Bearer \(token)"])
        print("over the socket: tcp loopback, RPCServer + RPCClient (one DEALER), token verified per call;"
              + " pool: callers and handlers on the cooperative pool (the service's default),"
              + " on loop: handlers inline on the server's poll thread, callers on the client's (RPCClient.executor)")
        for (name, method, body) in [("wrap", KeyVaultMethod.wrap.name, wrapBody), ("unwrap", KeyVaultMethod.unwrap.name, unwrapBody)] {
            for callers in [1, concurrency] {
                let result = try await measure(ops, callers) {
                    _ = try await client.call(method, body: body, options: options)
                }
                let reference = inProcess["\(name) \(callers)"] ?? .nan
                print(result.line("socket \(name), \(callers) caller\(callers == 1 ? "" : "s"), pool")
                      + "  ratio to in-process: " + fixed(result.opsPerSecond / reference, 2))
                let onLoop = try await withTaskExecutorPreference(loopClient.executor) {
                    try await measure(ops, callers) {
                        _ = try await loopClient.call(method, body: body, options: options)
                    }
                }
                print(onLoop.line("socket \(name), \(callers) caller\(callers == 1 ? "" : "s"), on loop")
                      + "  ratio to in-process: " + fixed(onLoop.opsPerSecond / reference, 2))
            }
        }
    }

    private func request(_ method: String, _ body: [UInt8]) -> RPCRequest {
        RPCRequest(header: RPCHeader(method: method, callID: Array(repeating: 7, count: 16),
                                     metadata: ["authorization": "Bearer app"]), body: body)
    }

    struct Result {
        var opsPerSecond: Double
        var p50Micros: Double
        var p99Micros: Double
        func line(_ label: String) -> String {
            label.padding(44) + fixed(opsPerSecond, 0).leftPadding(10) + " ops/s  p50 " + fixed(p50Micros, 1).leftPadding(7)
                + " us  p99 " + fixed(p99Micros, 1).leftPadding(7) + " us"
        }
    }

    /// Runs `total` operations split over `callers` tasks; latency per call.
    private func measure(_ total: Int, _ callers: Int, _ op: @escaping @Sendable () async throws -> Void) async throws -> Result {
        for _ in 0..<min(total, 500) { try await op() }  // warm-up
        let start = now()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var local: [Double] = []
                    local.reserveCapacity(total / callers)
                    for _ in 0..<(total / callers) {
                        let t0 = now()
                        try await op()
                        local.append(now() - t0)
                    }
                    return local
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let elapsed = now() - start
        return Result(opsPerSecond: Double(latencies.count) / elapsed,
                      p50Micros: latencies[latencies.count / 2] * 1e6,
                      p99Micros: latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1e6)
    }
}

private func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// `value` with `decimals` digits after the point (no Foundation here).
private func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    guard decimals > 0 else { return String(scaled) }
    let digits = String(abs(scaled) % Int(scale))
    return "\(scaled / Int(scale)).\(String(repeating: "0", count: decimals - digits.count))\(digits)"
}

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
    fileprivate func leftPadding(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
