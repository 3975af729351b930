import ArgumentParser
import AtRestCrypto
import AtRestStorage
import Foundation

/// `atrest-bench storage`: durable encrypted writes and reads of 1 MiB
/// objects through `ObjectStore` against a plain write+fsync (and plain read)
/// of the same bytes in the same directory, rounds interleaved so disk noise
/// hits both sides alike.
struct StorageBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Durable store write/read throughput vs plain write+fsync and plain read.")

    @Option(help: "Scratch directory on the disk to measure (removed afterwards).") var directory = "./.atrest-bench-storage"
    @Option(help: "Objects per round.") var count = 32
    @Option(help: "Rounds.") var rounds = 4
    @Option(help: "Object size in bytes.") var size = 1 << 20

    func run() async throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory + "/plain", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: directory) }
        let key = try AccountKey(key: SecretBytes(randomCount: 32),
                                 reference: KeyReference(provider: "bench", keyID: "k", keyVersion: 1, accountKeyVersion: 1))
        let store = try ObjectStore(directory: directory + "/store")
        try await store.createContainer(account: "bench", name: "c", accountKey: key)
        let data = try SecureRandom.bytes(size)

        var plainWrite = 0.0, plainAtomic = 0.0, storeWrite = 0.0
        // Interleaved object by object, so the disk's bursts and stalls hit all three alike.
        for round in 0..<rounds {
            for i in 0..<count {
                plainWrite += try timed { try plainPut("\(directory)/plain/f-\(round)-\(i)", data, atomic: false) }
                storeWrite += try await timed { try await store.put(account: "bench", container: "c", name: "o-\(round)-\(i)", data: data, accountKey: key) }
                plainAtomic += try timed { try plainPut("\(directory)/plain/a-\(round)-\(i)", data, atomic: true) }
            }
        }
        let total = Double(count * rounds * size)
        let baseline = total / plainWrite
        print(BenchClock.row("plain write+fsync, \(size >> 10) KiB files (baseline)", baseline, baseline: baseline))
        print(BenchClock.row("store put (encrypt, temp, fsync, rename, dir fsync)", total / storeWrite, baseline: baseline))
        print(BenchClock.row("plain write+fsync+rename+dir fsync (reference)", total / plainAtomic, baseline: baseline))

        var buffer = [UInt8](repeating: 0, count: size)
        var plainRead = 0.0, storeRead = 0.0
        for round in 0..<rounds {
            for i in 0..<count {
                plainRead += try timed { try plainGet("\(directory)/plain/f-\(round)-\(i)", into: &buffer) }
                storeRead += try await timed {
                    var n = 0
                    try await store.read(account: "bench", container: "c", name: "o-\(round)-\(i)", accountKey: key) { n += $0.count }
                    guard n == size else { throw ValidationError("short read") }
                }
            }
        }
        let readBaseline = total / plainRead
        print(BenchClock.row("plain read, \(size >> 10) KiB files, page cache (baseline)", readBaseline, baseline: readBaseline))
        print(BenchClock.row("store read (decrypt)", total / storeRead, baseline: readBaseline))
    }

    private func timed(_ body: () throws -> Void) throws -> Double {
        let start = BenchClock.now()
        try body()
        return BenchClock.now() - start
    }

    private func timed(_ body: () async throws -> Void) async throws -> Double {
        let start = BenchClock.now()
        try await body()
        return BenchClock.now() - start
    }

    private func plainPut(_ path: String, _ data: [UInt8], atomic: Bool) throws {
        let target = atomic ? path + ".tmp" : path
        let fd = open(target, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ValidationError("open \(target): errno \(errno)") }
        let n = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == data.count, fsync(fd) == 0 else { throw ValidationError("write/fsync \(target): errno \(errno)") }
        close(fd)
        if atomic {
            guard rename(target, path) == 0 else { throw ValidationError("rename: errno \(errno)") }
            let dirfd = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
            fsync(dirfd)
            close(dirfd)
        }
    }

    private func plainGet(_ path: String, into buffer: inout [UInt8]) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("open \(path): errno \(errno)") }
        defer { close(fd) }
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n == buffer.count else { throw ValidationError("short read \(path)") }
    }
}
