import ArgumentParser
import AtRestCrypto
import AtRestStorage
import Foundation

/// `atrest-bench crypto`: raw AES-256-GCM through EVP on 64 KiB buffers (the
/// baseline, like `openssl speed -evp aes-256-gcm`), then format-v1 seal and
/// open of 1 MiB and 64 MiB objects in memory as ratios to it, then the peak
/// RSS of a child process sealing a 1 GiB stream.
struct CryptoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypto",
        abstract: "AES-256-GCM baseline vs object format v1 seal/open; peak memory of a 1 GiB streaming seal.")

    @Option(help: "Seconds per measurement.") var seconds: Double = 1.0
    @Option(help: "Bytes sealed by the streaming-memory child.") var streamBytes: Int = 1 << 30
    @Option(help: "Interleaved rounds (each case runs one slice per round).") var rounds = 7
    @Flag(help: "Also measure raw GCM with misaligned input (placement diagnostics).") var diagnostics = false
    @Option(help: "Only run cases whose name contains this (for profiling); the baseline always runs.") var only: String?
    @Flag(help: "Skip the streaming peak-memory child.") var skipStream = false
    @Flag(help: .hidden) var streamChild = false

    func run() throws {
        if streamChild { return try runStreamChild() }
        let key = try AccountKey(key: SecretBytes(randomCount: 32),
                                 reference: KeyReference(provider: "bench", keyID: "k", keyVersion: 1, accountKeyVersion: 1))
        let inCache = try RawGCMBench(size: RawGCMBench.chunk)
        var cases = [BenchCase(name: "raw AES-256-GCM EVP seal, 64 KiB buffer, in cache (issue baseline)", bytes: inCache.size) { try inCache.seal() }]
        var pairs: [(format: Int, raw: Int)] = []
        for size in [1 << 20, 64 << 20] {
            let raw = try RawGCMBench(size: size)
            let object = try FormatBench(size: size, key: key)
            let label = "\(size >> 20) MiB"
            let first = cases.count
            cases += [
                BenchCase(name: "raw GCM seal, \(label) in 64 KiB calls (same-size baseline)", bytes: size) { try raw.seal() },
                BenchCase(name: "raw GCM open, \(label) in 64 KiB calls (same-size baseline)", bytes: size) { try raw.open() },
                BenchCase(name: "format v1 seal, \(label) object in memory", bytes: size) { try object.seal() },
                BenchCase(name: "format v1 open, \(label) object in memory", bytes: size) { try object.open() },
            ]
            pairs += [(first + 2, first), (first + 3, first + 1)]
        }
        if diagnostics {
            for offset in [0, 8, 48] {
                let raw = try RawGCMBench(size: 64 << 20, inputOffset: offset)
                cases.append(BenchCase(name: "diag: raw GCM open, 64 MiB, input at +\(offset) from a cache line", bytes: raw.size) { try raw.open() })
            }
        }
        if let only { cases = cases.enumerated().filter { $0.offset == 0 || $0.element.name.contains(only) }.map(\.element); pairs = [] }
        let results = try BenchClock.interleaved(cases, rounds: rounds, seconds: seconds)
        let baseline = results[0].best
        print("\(rounds) interleaved rounds; best slice (median, worst) per case. Ratios: to the issue baseline (raw 64 KiB in cache), and [fair] to raw GCM over the same bytes.")
        for (i, c) in cases.enumerated() {
            let fair = pairs.first { $0.format == i }.map { results[$0.raw].best }
            print(BenchClock.row(c.name, results[i], baseline: baseline, fairBaseline: fair))
        }
        try printFixedCost(key: key)
        if skipStream { return }
        let peak = try streamPeakMemory()
        print("peak RSS sealing a \(streamBytes >> 20) MiB stream: \(peak.peakKiB / 1024) MiB (VmHWM; process baseline before streaming \(peak.baseKiB / 1024) MiB; target < 64 MiB)")
    }

    /// Per-object cost that does not scale with size (key derivation, header,
    /// metadata block, contexts): seal and open of an empty object.
    private func printFixedCost(key: AccountKey) throws {
        let empty = try FormatBench(size: 0, key: key)
        let stats = try BenchClock.interleaved([
            BenchCase(name: "seal", bytes: 1) { try empty.seal() },
            BenchCase(name: "open", bytes: 1) { try empty.open() },
        ], rounds: rounds, seconds: min(seconds, 0.5))
        print("per-object fixed cost (empty object, best slice): seal \(String(format: "%.1f", 1e6 / stats[0].best)) µs, open \(String(format: "%.1f", 1e6 / stats[1].best)) µs")
        // What every sealed record and name hash pays: an HMAC under a fresh key, and HKDF (two of them).
        let macKey = try SecretBytes(randomCount: 32), message = [UInt8](repeating: 7, count: 64), salt = [UInt8](repeating: 1, count: 16)
        let kdf = try BenchClock.interleaved([
            BenchCase(name: "hmac", bytes: 1) { _ = try HMACSHA256.authenticate(message, using: macKey) },
            BenchCase(name: "hkdf", bytes: 1) { _ = try HKDF.deriveKey(from: macKey, salt: salt, info: message, outputCount: 32) },
        ], rounds: rounds, seconds: min(seconds, 0.5))
        print("HMAC-SHA256 of 64 bytes \(String(format: "%.2f", 1e6 / kdf[0].best)) µs, HKDF-SHA256 to 32 bytes \(String(format: "%.2f", 1e6 / kdf[1].best)) µs (best slice)")
    }

    /// Runs this executable as a child that only streams, and reads its VmHWM.
    private func streamPeakMemory() throws -> (peakKiB: Int, baseKiB: Int) {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["crypto", "--stream-child", "--stream-bytes", String(streamBytes)]
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        func value(_ key: String) -> Int? {
            output.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        guard child.terminationStatus == 0, let peak = value("vmhwm_kib"), let base = value("base_rss_kib") else {
            throw ValidationError("streaming child failed: \(output)")
        }
        return (peak, base)
    }

    /// Child: seal `streamBytes` in 1 MiB appends, discarding sealed segments.
    private func runStreamChild() throws {
        let key = try AccountKey(key: SecretBytes(randomCount: 32),
                                 reference: KeyReference(provider: "bench", keyID: "k", keyVersion: 1, accountKeyVersion: 1))
        let chunk = try SecureRandom.bytes(1 << 20)
        let base = BenchClock.procStatus("VmRSS") ?? 0
        let sealer = try ObjectSealer(accountKey: key, context: ObjectIdentity(account: "bench", container: "c").context,
                                      metadata: ObjectMetadata(name: "stream"))
        var sealedBytes = 0
        var written = 0
        while written < streamBytes {
            let n = min(chunk.count, streamBytes - written)
            try chunk.withUnsafeBytes { try sealer.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) { sealedBytes += $0.count } }
            written += n
        }
        _ = try sealer.finish { sealedBytes += $0.count }
        print("sealed_bytes=\(sealedBytes) base_rss_kib=\(base) vmhwm_kib=\(BenchClock.procStatus("VmHWM") ?? -1)")
    }
}

/// Timing and reporting helpers shared by the benchmark subcommands.
enum BenchClock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Runs `body` repeatedly for about `seconds` (after one warm-up) and
    /// returns bytes/s of the best of 5 equal slices: the machine is shared,
    /// and the best slice is the closest to an uncontended run for every case alike.
    static func throughput(seconds: Double, bytesPerIteration: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        var best = 0.0
        for _ in 0..<5 {
            var iterations = 0
            let start = now()
            var elapsed = 0.0
            repeat {
                try body()
                iterations += 1
                elapsed = now() - start
            } while elapsed < seconds / 5
            best = max(best, Double(iterations * bytesPerIteration) / elapsed)
        }
        return best
    }

    static func row(_ name: String, _ bytesPerSecond: Double, baseline: Double) -> String {
        let mbs = bytesPerSecond / 1_048_576
        return "\(name.padding(toLength: 72, withPad: " ", startingAt: 0)) \(String(format: "%8.1f", mbs)) MiB/s  ratio \(String(format: "%.2f", bytesPerSecond / baseline))"
    }

    /// A "kB" field of /proc/self/status (VmRSS, VmHWM), in KiB.
    static func procStatus(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }
}
