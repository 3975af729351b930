import ArgumentParser
import AtRestCrypto
import AtRestStorage
import Foundation

/// `atrest-bench storage-small` (issue 19, small objects): the store alone,
/// without the front door and the messaging: 4 KiB durable puts through
/// `ObjectStore` by 16 concurrent tasks against 16 plain write+fdatasync
/// writers (a new file each) in the same directory, alternating rounds; then
/// 1 caller's p99 (`SmallPuts`). `atrest-bench e2e --cases 4k16` measures the
/// same through the whole system.
struct StorageSmallBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage-small",
        abstract: "4 KiB durable store puts, 16 concurrent callers and 1, vs plain write+fdatasync writers in the same run.")

    @Option(help: "Scratch directory on the disk to measure (removed afterwards).") var directory = "./.atrest-bench-storage-small"
    @Option(help: "Rounds per side (plain writers, then puts, alternating which goes first).") var rounds = 4
    @Option(help: "Seconds per round.") var seconds = 2.0
    @Flag(help: "Also measure the store with its puts committed on the dispatch queue as before group commit (LocalBackend.commitThreads = 0), in the same alternating rounds.")
    var before = false

    func run() async throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory + "/plain", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: directory) }
        print("storage-small: \(SmallPuts.loadLine())")
        let key = try AccountKey(key: SecretBytes(randomCount: 32),
                                 reference: KeyReference(provider: "bench", keyID: "k", keyVersion: 1, accountKeyVersion: 1))
        let store = try ObjectStore(directory: directory + "/store")
        try await store.createContainer(account: "bench", name: "small", accountKey: key)
        let data = try SecureRandom.bytes(SmallPuts.size)
        let threads = LocalBackend.commitThreads
        var sides = [SmallPuts.Side(label: "store put", prepare: { LocalBackend.commitThreads = threads }) { round, i in
            try await store.put(account: "bench", container: "small", name: "g\(round)-\(i)", data: data, accountKey: key)
        }]
        if before {
            sides.append(SmallPuts.Side(label: "store put, before (dispatch queue)", prepare: { LocalBackend.commitThreads = 0 }) { round, i in
                try await store.put(account: "bench", container: "small", name: "b\(round)-\(i)", data: data, accountKey: key)
            })
        }
        try await SmallPuts.compare(rounds: rounds, seconds: seconds, root: directory + "/plain", sides: sides)
    }
}
