import ArgumentParser
import AtRestCrypto
import AtRestStorage
import Foundation

/// `atrest-bench disk-store`: the disk engine alone (`DiskStore` on the
/// local backend, no services): 4 KiB random writes and reads at a queue
/// depth, 1 MiB sequential writes (then overwrites) and reads, with p50/p99
/// and the CPU per MiB. Each write is
/// durable on return. The comparison with a local file and `nbdkit
/// memory` (issue 17's targets) is fio's, through the NBD gateway.
struct DiskStoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disk-store",
        abstract: "DiskStore (local backend) 4 KiB random and 1 MiB sequential writes and reads, p50/p99.")

    @Option(help: "Scratch directory on the disk to measure (removed afterwards).") var directory = "./.atrest-bench-disk-store"
    @Option(help: "Seconds per timed case.") var seconds = 5.0
    @Option(help: "Concurrent callers of the 4 KiB cases (queue depth).") var depth = 16
    @Option(help: "Size of the disk's written area in MiB (random offsets fall in it).") var areaMiB = 256

    func run() async throws {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = DiskStore(backend: try LocalBackend(directory: directory + "/store"))
        let key = try AccountKey(key: SecretBytes(randomCount: 32),
                                 reference: KeyReference(provider: "managed", keyID: "bench", keyVersion: 1, accountKeyVersion: 1))
        let area = UInt64(areaMiB) << 20, pages = area / 4096
        try await store.createDisk(account: "bench", name: "bench", size: area, accountKey: key)
        let page = [UInt8](repeating: 0xA5, count: 4096), mebibyte = [UInt8](repeating: 0x5A, count: 1 << 20)
        // Each case also prints this process's CPU (user + system) per MiB
        // moved: the store's own cost, as the crypto worker pays it.
        try await Self.measured("1 MiB sequential write, 1 caller", bytes: 1 << 20, seconds: seconds, count: areaMiB, callers: 1) { i in
            try await store.writePages(account: "bench", name: "bench", offset: UInt64(i % areaMiB) << 20, data: mebibyte, accountKey: key)
        }
        // Over the extents the pass before wrote: what a disk in use (and the
        // nbd bench's write jobs, after its fill) costs.
        try await Self.measured("1 MiB sequential overwrite, 1 caller", bytes: 1 << 20, seconds: seconds, count: areaMiB, callers: 1) { i in
            try await store.writePages(account: "bench", name: "bench", offset: UInt64(i % areaMiB) << 20, data: mebibyte, accountKey: key)
        }
        try await Self.measured("1 MiB sequential read, 1 caller", bytes: 1 << 20, seconds: seconds, count: areaMiB, callers: 1) { i in
            _ = try await store.readPages(account: "bench", name: "bench", offset: UInt64(i % areaMiB) << 20, length: 1 << 20, accountKey: key)
        }
        try await Self.measured("4 KiB random write, depth \(depth)", bytes: 4096, seconds: seconds, callers: depth) { i in
            let offset = UInt64(truncatingIfNeeded: i &* 2_654_435_761) % pages * 4096
            try await store.writePages(account: "bench", name: "bench", offset: offset, data: page, accountKey: key)
        }
        try await Self.measured("4 KiB random read, depth \(depth)", bytes: 4096, seconds: seconds, callers: depth) { i in
            let offset = UInt64(truncatingIfNeeded: i &* 2_654_435_761) % pages * 4096
            _ = try await store.readPages(account: "bench", name: "bench", offset: offset, length: 4096, accountKey: key)
        }
    }

    /// One case: its latency line and this process's CPU milliseconds per MiB.
    static func measured(_ name: String, bytes: Int, seconds: Double, count: Int = .max, callers: Int,
                         _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let cpu = ProcessCPU.selfSeconds()
        let latency = try await Latency.measure(seconds: seconds, count: count, callers: callers, body)
        // The warm-up call Latency.measure makes first counts in the CPU too.
        let mebibytes = Double((latency.count + 1) * bytes) / 1_048_576
        print(latency.line(name, bytes: bytes) + "  CPU \(decimals((ProcessCPU.selfSeconds() - cpu) * 1000 / mebibytes, 2)) ms/MiB")
    }
}
