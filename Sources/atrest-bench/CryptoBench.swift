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
    @Flag(help: .hidden) var streamChild = false

    func run() throws {
        if streamChild { return try runStreamChild() }
        let key = try AccountKey(key: SecretBytes(randomCount: 32),
                                 reference: KeyReference(provider: "bench", keyID: "k", keyVersion: 1, accountKeyVersion: 1))
        let raw = try rawGCM()
        print(BenchClock.row("raw AES-256-GCM EVP, 64 KiB buffers (baseline)", raw, baseline: raw))
        let rawLarge = try rawGCM(bufferSize: 64 << 20)
        print(BenchClock.row("raw AES-256-GCM EVP, 64 MiB buffer in 64 KiB calls (RAM-bound reference)", rawLarge, baseline: raw))
        for size in [1 << 20, 64 << 20] {
            let (seal, open) = try format(size: size, key: key)
            print(BenchClock.row("format v1 seal, \(size >> 20) MiB object in memory", seal, baseline: raw))
            print(BenchClock.row("format v1 open, \(size >> 20) MiB object in memory", open, baseline: raw))
        }
        let peak = try streamPeakMemory()
        print("peak RSS sealing a \(streamBytes >> 20) MiB stream: \(peak.peakKiB / 1024) MiB (VmHWM; process baseline before streaming \(peak.baseKiB / 1024) MiB; target < 64 MiB)")
    }

    /// Bytes/s of sealing with one keyed EVP context, 64 KiB per call, walking
    /// a buffer of `bufferSize` (64 KiB: stays in cache, like `openssl speed`).
    private func rawGCM(bufferSize: Int = 64 << 10) throws -> Double {
        let context = try AESGCMContext(key: SecretBytes(randomCount: 32))
        let input = try SecureRandom.bytes(bufferSize)
        var output = [UInt8](repeating: 0, count: bufferSize)
        let chunk = 64 << 10
        var tag = [UInt8](repeating: 0, count: 16)
        var nonce = [UInt8](repeating: 0, count: 12)
        let aad = [UInt8](repeating: 7, count: 32)
        var counter: UInt32 = 0
        return try BenchClock.throughput(seconds: seconds, bytesPerIteration: bufferSize) {
            try input.withUnsafeBytes { whole in
                try output.withUnsafeMutableBytes { wholeOut in
                    for offset in stride(from: 0, to: bufferSize, by: chunk) {
                        counter &+= 1
                        nonce[8] = UInt8(counter >> 24); nonce[9] = UInt8((counter >> 16) & 0xff)
                        nonce[10] = UInt8((counter >> 8) & 0xff); nonce[11] = UInt8(counter & 0xff)
                        let i = UnsafeRawBufferPointer(rebasing: whole[offset..<(offset + chunk)])
                        let o = UnsafeMutableRawBufferPointer(rebasing: wholeOut[offset..<(offset + chunk)])
                        try nonce.withUnsafeBytes { n in
                            try aad.withUnsafeBytes { a in try tag.withUnsafeMutableBytes { t in try context.seal(i, into: o, nonce: n, aad: a, tag: t) } }
                        }
                    }
                }
            }
        }
    }

    /// Bytes/s of whole-object seal and open (key derivation and headers included), buffers reused.
    private func format(size: Int, key: AccountKey) throws -> (seal: Double, open: Double) {
        let data = try SecureRandom.bytes(size)
        let metadata = ObjectMetadata(name: "bench/object", userMetadata: ["k": "v"])
        let context = ObjectIdentity(account: "bench", container: "c").context
        let sealedSize = try ObjectFormat.sealedSize(dataLength: size, metadata: metadata, accountKey: key)
        var sealed = [UInt8](repeating: 0, count: sealedSize)
        let seal = try BenchClock.throughput(seconds: seconds, bytesPerIteration: size) {
            _ = try data.withUnsafeBytes { d in
                try sealed.withUnsafeMutableBytes { try ObjectFormat.seal(d, metadata: metadata, accountKey: key, context: context, into: $0) }
            }
        }
        var plain = [UInt8](repeating: 0, count: size)
        let source = BufferSource(sealed)
        let open = try BenchClock.throughput(seconds: seconds, bytesPerIteration: size) {
            let reader = try ObjectReader(source: source, accountKey: key, context: context)
            try plain.withUnsafeMutableBytes { try reader.read(into: $0) }
        }
        guard plain == data else { throw ValidationError("format round trip returned different bytes") }
        return (seal, open)
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
