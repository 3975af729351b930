import ArgumentParser
import AtRestCrypto
import AtRestStorage
import Foundation

/// `atrest-bench storage`: durable encrypted writes and reads of 1 MiB
/// objects through `ObjectStore` against a plain write+fsync (and plain read)
/// of the same bytes in the same directory, rounds interleaved so disk noise
/// hits both sides alike; reads against a plain read of O_DIRECT-written
/// files in the same cache state and raw GCM open (`readRows`).
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
        print("\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(NBDBench.loadAverage()) (on 2 shared cores every figure roughly halves under load)")

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

        try await readRows(store: store, key: key, data: data, total: total)
    }

    /// Store read against the two limits of a decrypting read, in one run:
    /// (a) a plain read of files written the way the store writes its own
    /// (`O_DIRECT`, so not in the page cache), in the same cache state —
    /// cold (every object file dropped with `posix_fadvise(DONTNEED)` before
    /// each side) and warm (both read again at once) — and (b) raw
    /// AES-256-GCM open of as many bytes (1 thread, 64 KiB calls). Target:
    /// store read ≥ 0.8 of min(a, b) (issue 19).
    private func readRows(store: ObjectStore, key: AccountKey, data: [UInt8], total: Double) async throws {
        for round in 0..<rounds {
            for i in 0..<count { try directPut("\(directory)/plain/d-\(round)-\(i)", data) }
        }
        let gcm = try RawGCMBench(size: size)
        var buffer = [UInt8](repeating: 0, count: size)
        var plainCold = 0.0, storeCold = 0.0, plainWarm = 0.0, storeWarm = 0.0, gcmOpen = 0.0
        for round in 0..<rounds {
            for i in 0..<count {
                let plain = "\(directory)/plain/d-\(round)-\(i)", name = "o-\(round)-\(i)"
                let storeGet = {
                    var n = 0
                    try await store.read(account: "bench", container: "c", name: name, accountKey: key) { n += $0.count }
                    guard n == size else { throw ValidationError("short read") }
                }
                try dropFromCache(plain)
                try dropObjectFiles()
                plainCold += try timed { try plainGet(plain, into: &buffer) }
                storeCold += try await timed { try await storeGet() }
                plainWarm += try timed { try plainGet(plain, into: &buffer) }
                storeWarm += try await timed { try await storeGet() }
                gcmOpen += try timed { try gcm.open() }
            }
        }
        let gcmRate = total / gcmOpen
        let cold = min(total / plainCold, gcmRate), warm = min(total / plainWarm, gcmRate)
        print(BenchClock.row("plain read, O_DIRECT-written \(size >> 10) KiB files, cold (a)", total / plainCold, baseline: cold))
        print(BenchClock.row("raw AES-256-GCM open, same bytes, 1 thread (b)", gcmRate, baseline: cold))
        print(BenchClock.row("store read (decrypt), cold; ratio to min(a, b), target 0.8", total / storeCold, baseline: cold))
        print(BenchClock.row("plain read, same files, warm (page cache) (a)", total / plainWarm, baseline: warm))
        print(BenchClock.row("store read (decrypt), warm; ratio to min(a, b), target 0.8", total / storeWarm, baseline: warm))
    }

    /// Drops one file's pages from the page cache (it was fsynced: none are dirty).
    private func dropFromCache(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("open \(path): errno \(errno)") }
        defer { close(fd) }
        guard posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 else { throw ValidationError("posix_fadvise \(path) failed") }
    }

    /// Drops every object file of the store (files at least `size` long; its
    /// small database and marker files stay cached, as they would be).
    private func dropObjectFiles() throws {
        let root = directory + "/store"
        guard let walker = FileManager.default.enumerator(atPath: root) else { return }
        while let relative = walker.nextObject() as? String {
            let attributes = walker.fileAttributes
            guard attributes?[.type] as? FileAttributeType == .typeRegular,
                  (attributes?[.size] as? NSNumber)?.intValue ?? 0 >= size else { continue }
            try dropFromCache(root + "/" + relative)
        }
    }

    /// A plain file written the way the store writes its objects: one
    /// `O_DIRECT` write of page-aligned bytes, then fdatasync. Where the file
    /// system refuses `O_DIRECT` (tmpfs), a buffered write.
    private func directPut(_ path: String, _ data: [UInt8]) throws {
        let padded = (data.count + 4095) / 4096 * 4096
        let aligned = UnsafeMutableRawBufferPointer.allocate(byteCount: max(padded, 4096), alignment: 4096)
        defer { aligned.deallocate() }
        aligned.initializeMemory(as: UInt8.self, repeating: 0)
        data.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: aligned[0..<data.count]).copyMemory(from: $0) }
        var fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC | Self.directIO, 0o600)
        if fd < 0 && errno == EINVAL { fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw ValidationError("open \(path): errno \(errno)") }
        defer { close(fd) }
        guard write(fd, aligned.baseAddress, padded) == padded, ftruncate(fd, off_t(data.count)) == 0, fdatasync(fd) == 0 else {
            throw ValidationError("write/fdatasync \(path): errno \(errno)")
        }
    }

    #if arch(x86_64)
    private static let directIO: Int32 = 0o40000
    #else
    private static let directIO: Int32 = 0o200000
    #endif

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
