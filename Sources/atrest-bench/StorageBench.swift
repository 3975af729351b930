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
    /// store read ≥ 0.8 of min(a, b) (issue 19). Warm reads are CPU work,
    /// so they are also printed per CPU second of this process (a loaded
    /// machine preempts a long call more often than a short one; CPU time
    /// does not count the waits).
    private func readRows(store: ObjectStore, key: AccountKey, data: [UInt8], total: Double) async throws {
        for round in 0..<rounds {
            for i in 0..<count { try directPut("\(directory)/plain/d-\(round)-\(i)", data) }
        }
        let objectFiles = try storeObjectFiles()
        let gcm = try RawGCMBench(size: max(RawGCMBench.chunk, (size + RawGCMBench.chunk - 1) / RawGCMBench.chunk * RawGCMBench.chunk))
        var buffer = [UInt8](repeating: 0, count: size)
        var plainCold = Meter(), storeCold = Meter(), plainWarm = Meter(), storeWarm = Meter(), gcmOpen = Meter()
        for round in 0..<rounds {
            for i in 0..<count {
                let plain = "\(directory)/plain/d-\(round)-\(i)", name = "o-\(round)-\(i)"
                let storeGet = {
                    var n = 0
                    try await store.read(account: "bench", container: "c", name: name, accountKey: key) { n += $0.count }
                    guard n == size else { throw ValidationError("short read") }
                }
                try dropFromCache(plain)
                for file in objectFiles { try dropFromCache(file) }
                try plainCold.time { try plainGet(plain, into: &buffer) }
                try await storeCold.time { try await storeGet() }
                try plainWarm.time { try plainGet(plain, into: &buffer) }
                try await storeWarm.time { try await storeGet() }
                try gcmOpen.time { try gcm.open() }
            }
        }
        let gcmTotal = Double(count * rounds * gcm.size)
        let gcmRate = gcmTotal / gcmOpen.wall, gcmCPU = gcmTotal / gcmOpen.cpu
        let cold = min(total / plainCold.wall, gcmRate), warm = min(total / plainWarm.wall, gcmRate)
        let warmCPU = min(total / plainWarm.cpu, gcmCPU)
        print(BenchClock.row("plain read, O_DIRECT-written \(size >> 10) KiB files, cold (a)", total / plainCold.wall, baseline: cold))
        print(BenchClock.row("raw AES-256-GCM open, same bytes, 1 thread (b)", gcmRate, baseline: cold))
        print(BenchClock.row("store read (decrypt), cold; ratio to min(a, b), target 0.8", total / storeCold.wall, baseline: cold))
        print(BenchClock.row("plain read, same files, warm (page cache) (a)", total / plainWarm.wall, baseline: warm))
        print(BenchClock.row("store read (decrypt), warm; ratio to min(a, b), target 0.8", total / storeWarm.wall, baseline: warm))
        print(BenchClock.row("per CPU second: plain read, warm (a)", total / plainWarm.cpu, baseline: warmCPU))
        print(BenchClock.row("per CPU second: raw AES-256-GCM open (b)", gcmCPU, baseline: warmCPU))
        print(BenchClock.row("per CPU second: store read, warm; ratio to min(a, b)", total / storeWarm.cpu, baseline: warmCPU))
    }

    /// Wall and CPU seconds (all threads of this process) of the calls timed.
    private struct Meter {
        var wall = 0.0, cpu = 0.0

        mutating func time(_ body: () throws -> Void) throws {
            let (w, c) = (BenchClock.now(), Self.processCPU())
            try body()
            wall += BenchClock.now() - w
            cpu += Self.processCPU() - c
        }

        mutating func time(_ body: () async throws -> Void) async throws {
            let (w, c) = (BenchClock.now(), Self.processCPU())
            try await body()
            wall += BenchClock.now() - w
            cpu += Self.processCPU() - c
        }

        static func processCPU() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
    }

    /// Drops one file's pages from the page cache (it was fsynced: none are dirty).
    private func dropFromCache(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("open \(path): errno \(errno)") }
        defer { close(fd) }
        guard posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 else { throw ValidationError("posix_fadvise \(path) failed") }
    }

    /// The store's object files (at least `size` bytes long; its small
    /// database and marker files stay cached, as they would be).
    private func storeObjectFiles() throws -> [String] {
        let root = directory + "/store"
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            let attributes = walker.fileAttributes
            guard attributes?[.type] as? FileAttributeType == .typeRegular,
                  (attributes?[.size] as? NSNumber)?.intValue ?? 0 >= size else { continue }
            files.append(root + "/" + relative)
        }
        return files
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
