import ArgumentParser
import AtRestClient
import AtRestCrypto
import AtRestRuntime
import AtRestTesting
import Foundation

/// `atrest-bench infra` (issue 20): what infrastructure (double) encryption
/// costs. One cluster, two accounts of the same user: `bench` (one layer) and
/// `bench-infra` (created with infrastructure encryption: every segment sealed
/// twice). 64 MiB puts alternate between the two (so both meet the disk and
/// the machine in the same state); prints MiB/s of each and the ratio.
struct InfrastructureBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infra", abstract: "64 MiB put with and without infrastructure (double) encryption in the same run, and the ratio.")

    @Option(help: "64 MiB puts per account (alternating).") var count = 5
    @Option(help: "Crypto workers.") var workers = 1
    @Option(help: "Parent directory of the cluster's data.") var directory = NSTemporaryDirectory()
    @Option(name: .customLong("block-mib"), help: "Block size of the 64 MiB transfers, in MiB (BlobTransferOptions).") var blockMiB = 4
    @Option(help: "Blocks in flight (BlobTransferOptions.parallelism).") var parallelism = 8

    func run() async throws {
        MemoryTuning.keepLargeBuffers()
        let large = try SecureRandom.bytes(64 << 20)
        let root = LocalCluster.temporaryDirectory(under: directory, "infra")
        let (cluster, client) = try await BenchCluster.start(workers: workers, root: root)
        defer { cluster.stop() }
        _ = try await AccountClient(client.base).create("bench-infra", infrastructureEncryption: true)
        let options = BlobTransferOptions(blockSize: blockMiB << 20, rangeSize: blockMiB << 20, parallelism: parallelism)
        let single = BlobClient(client.base, account: client.account, options: options)
        let double = BlobClient(client.base, account: "bench-infra", options: options)
        try await double.createContainer("bench")
        print("infra bench: services from \(BenchCluster.binDirectory), \(workers) worker(s), data under \(root), "
              + "64 MiB puts (\(blockMiB) MiB blocks, \(parallelism) in flight), \(count) per account, alternating")
        for blobs in [single, double] { _ = try await blobs.upload("bench", "large", data: large) }  // warm-up: keys, connections
        var times: [[Double]] = [[], []]
        for _ in 0..<count {
            for (index, blobs) in [single, double].enumerated() {
                let start = BenchClock.now()
                _ = try await blobs.upload("bench", "large", data: large)
                times[index].append(BenchClock.now() - start)
            }
        }
        let one = Latency(samples: times[0], wall: times[0].reduce(0, +))
        let two = Latency(samples: times[1], wall: times[1].reduce(0, +))
        print(one.line("put 64 MiB, one layer (account-key only)", bytes: 64 << 20))
        print(two.line("put 64 MiB, infrastructure encryption (two layers)", bytes: 64 << 20))
        let rate = { (l: Latency) in 64 * l.opsPerSecond }
        print("MiB/s: one layer \(decimals(rate(one), 1)), two layers \(decimals(rate(two), 1)); "
              + "ratio two/one \(decimals(rate(two) / rate(one)))")
    }
}
