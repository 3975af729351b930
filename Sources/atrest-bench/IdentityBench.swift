import ArgumentParser
import AtRestCrypto
import AtRestIdentity
import AtRestTokens
import Dispatch
import Glibc

/// `atrest-bench identity`: token issue and verify rates on one core, and the
/// offline verify cost per call (p50/p99), against a bare Ed25519 verify of
/// the same bytes measured in the same run.
struct IdentityBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity", abstract: "Token issue/verify rates and per-call verify cost (target: verify < 50 µs at p50).")

    @Option(help: "Operations per measurement.") var count = 5000

    func run() async throws {
        var template = Array("/tmp/atrest-identity-bench-XXXXXX".utf8CString)
        let dir = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
        var config = IdentityConfiguration(dataDirectory: dir)
        config.rootKeyEnvironmentVariable = nil
        config.passwordIterations = 1000
        let service = try await IdentityService(config: config)
        let issuer = await service.currentIssuer()
        let keys = await service.keySet()
        let now = UnixClock.now()
        let claims = TokenClaims(issuer: config.issuer, subject: "usr_bench", tenant: "contoso", audience: config.audience,
                                 roles: ["accountOwner:acct1"], issuedAt: now, expiresAt: now + 3600, tokenID: "bench",
                                 kind: "user", name: "bench")
        let token = try issuer.sign(claims)
        print("identity: \(count) operations per measurement, one thread; token \(token.utf8.count) bytes")

        // Baseline: OpenSSL Ed25519 verify of the token's own signing input, nothing else.
        let parts = token.split(separator: ".")
        let input = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let signature = Base64URL.decode(parts[2])!
        let publicKey = try Ed25519.PublicKey(rawRepresentation: Base64URL.decode(keys.keys[0].x)!)
        let raw = measure(count) { precondition(publicKey.isValidSignature(signature, for: input)) }

        let issue = try measureThrowing(count) { _ = try issuer.sign(claims) }
        let cold = try TokenVerifier(configuration: .init(issuer: config.issuer, audience: config.audience, cacheCapacity: 0), keys: keys.keys)
        let verifyCold = try measureThrowing(count) { _ = try cold.verifyWithKnownKeys(token) }
        let warm = try TokenVerifier(configuration: .init(issuer: config.issuer, audience: config.audience), keys: keys.keys)
        let verifyWarm = try measureThrowing(count * 20) { _ = try warm.verifyWithKnownKeys(token) }

        report("raw Ed25519 verify (baseline)", raw, baseline: raw)
        report("token issue (sign + JSON)", issue, baseline: raw)
        report("token verify, first use", verifyCold, baseline: raw)
        report("token verify, repeated (cache)", verifyWarm, baseline: raw)
        let target = verifyWarm.p50 < 50_000 ? "met" : "MISSED"
        print("target verify < 50 µs at p50 per request: \(target) for repeated tokens (\(us(verifyWarm.p50)) µs); first use of a token costs \(us(verifyCold.p50)) µs (\(ratio(verifyCold.p50, raw.p50))× a bare Ed25519 verify)")
        _ = try? FileManagerLite.removeTree(dir)
    }

    struct Sample {
        var perSecond: Double
        var p50: UInt64
        var p99: UInt64
    }

    func measure(_ n: Int, _ body: () -> Void) -> Sample {
        (try? measureThrowing(n, body)) ?? Sample(perSecond: 0, p50: 0, p99: 0)
    }

    func measureThrowing(_ n: Int, _ body: () throws -> Void) throws -> Sample {
        for _ in 0..<min(n / 10 + 1, 500) { try body() }  // warm-up
        var times = [UInt64](repeating: 0, count: n)
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<n {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            times[i] = DispatchTime.now().uptimeNanoseconds - t0
        }
        let total = DispatchTime.now().uptimeNanoseconds - start
        times.sort()
        return Sample(perSecond: Double(n) / (Double(total) / 1e9), p50: times[n / 2], p99: times[n * 99 / 100])
    }

    func report(_ name: String, _ s: Sample, baseline: Sample) {
        let name = name + String(repeating: " ", count: max(0, 34 - name.count))
        print("  \(name) \(Int(s.perSecond).description.leftPad(9))/s   p50 \(us(s.p50).leftPad(8)) µs   p99 \(us(s.p99).leftPad(8)) µs   p50 vs baseline \(ratio(s.p50, baseline.p50))×")
    }

    func us(_ ns: UInt64) -> String {
        let value = Double(ns) / 1000
        return value < 10 ? String(Int(value * 100)).insertingDecimal(2) : String(Int(value * 10)).insertingDecimal(1)
    }

    func ratio(_ a: UInt64, _ b: UInt64) -> String { String(Int(Double(a) / Double(max(b, 1)) * 100)).insertingDecimal(2) }
}

/// Removes the benchmark's scratch directory (flat files and one level of subdirectories).
enum FileManagerLite {
    static func removeTree(_ path: String) throws {
        guard let dir = opendir(path) else { return }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name == "." || name == ".." { continue }
            let child = "\(path)/\(name)"
            if unlink(child) != 0 { try removeTree(child) }
        }
        closedir(dir)
        rmdir(path)
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    func insertingDecimal(_ places: Int) -> String {
        let digits = count <= places ? String(repeating: "0", count: places - count + 1) + self : self
        return String(digits.dropLast(places)) + "." + String(digits.suffix(places))
    }
}
