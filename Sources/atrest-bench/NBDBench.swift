import ArgumentParser
import AtRestClient
import AtRestTesting
import Foundation
import Glibc

/// `atrest-bench nbd` (issue 17): fio's `nbd` engine against an AtRest disk
/// served by `atrest-nbd` (the real services, `BenchCluster`) and against
/// `nbdkit memory` (the NBD protocol's own ceiling on this machine), and fio
/// on a local file with O_DIRECT in the directory AtRest stores into (the
/// baseline). Same jobs for the three: 4 KiB random writes and reads at
/// `--depth`, 1 MiB sequential writes and reads at `--seq-depth`; writes
/// with `--fsync=1` (a FLUSH, or fsync(2) on the file, after every write:
/// each counts once durable, as AtRest acknowledges a write). Each target is
/// first written over its whole size, so reads hit written pages. The jobs
/// take turns over the targets, so a burst of load elsewhere spreads over
/// all three. Targets (AtRest / O_DIRECT file): sequential ≥ 0.5, 4 KiB
/// random writes ≥ 0.25. docs/BENCHMARKS.md "NBD disks".
struct NBDBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbd",
        abstract: "fio (nbd engine) on an AtRest disk via atrest-nbd vs nbdkit memory vs an O_DIRECT local file: 4 KiB random and 1 MiB sequential.")

    @Option(help: "Seconds per timed fio job.") var seconds = 10.0
    @Option(help: "Size of the AtRest disk, the nbdkit memory disk and the O_DIRECT file (bytes, or with KiB/MiB/GiB).") var size = "1GiB"
    @Option(help: "Queue depth of the 4 KiB jobs.") var depth = 16
    @Option(help: "Queue depth of the 1 MiB jobs.") var seqDepth = 4
    @Option(help: "Crypto workers of the cluster.") var workers = 2
    @Option(help: "atrest-nbd's --write-calls: calls of gathered small writes in flight per export (0: one call per write).")
    var writeCalls = 2
    @Option(help: "fio engine on the O_DIRECT file: io_uring (its fsyncs queue with the writes) or libaio (fio drains the queue before each fsync).")
    var fileEngine = "io_uring"
    @Option(help: "Parent directory of the cluster's data and of the O_DIRECT file (one file system: the baseline's disk is AtRest's).")
    var directory = NSTemporaryDirectory()

    func validate() throws {
        guard seconds >= 1, seconds <= 3600 else { throw ValidationError("--seconds must be 1-3600") }
        guard let bytes = Self.parseSize(size), bytes >= 16 << 20, bytes <= 1 << 40, bytes % (1 << 20) == 0 else {
            throw ValidationError("--size must be a whole number of MiB from 16 MiB to 1 TiB, e.g. 1GiB or 512MiB")
        }
        guard (1...1024).contains(depth), (1...1024).contains(seqDepth) else { throw ValidationError("--depth and --seq-depth must be 1-1024") }
        guard (1...16).contains(workers) else { throw ValidationError("--workers must be 1-16") }
        guard (0...64).contains(writeCalls) else { throw ValidationError("--write-calls must be 0-64") }
        guard ["io_uring", "libaio"].contains(fileEngine) else { throw ValidationError("--file-engine: io_uring or libaio") }
    }

    /// A place fio reads and writes: its engine flags.
    struct Target {
        let label: String
        let arguments: [String]
    }

    func run() async throws {
        let bytes = Self.parseSize(size)!
        let scratch = LocalCluster.temporaryDirectory(under: directory, "nbd")
        // If the bench dies (Ctrl-C, a kill), the watcher kills fio and nbdkit and removes the data.
        let cleanup = try ExitCleanup([["sleep", "1"], ["rm", "-rf", scratch]])
        defer {
            try? FileManager.default.removeItem(atPath: scratch)
            cleanup.dismiss()
        }
        let logs = "\(scratch)/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let tools = try await NBDBenchTools.find(fileEngine: fileEngine, directory: logs, cleanup: cleanup)
        Self.say("nbd bench: services from \(BenchCluster.binDirectory), \(workers) worker\(workers == 1 ? "" : "s"), data under \(scratch)")
        Self.say("\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(Self.loadAverage()); "
                 + "\(Int(seconds)) s per job; size \(bytes >> 20) MiB; writes with --fsync=1 (a FLUSH or fsync after every write) on all three")

        let (cluster, blobs) = try await BenchCluster.start(workers: workers, root: "\(scratch)/cluster")
        defer { cluster.stop() }
        let disks = DiskClient(blobs.base, account: "bench")
        try await disks.create("nbd-bench", size: bytes)
        let gateway = try ServiceProcess(BenchCluster.binDirectory + "/atrest-nbd", [
            "--endpoint", cluster.frontDoor.endpoint, "--tenant", BenchCluster.tenant, "--user", BenchCluster.user,
            "--listen", "127.0.0.1:0", "--export", "bench/nbd-bench", "--max-in-flight", String(max(16, depth, seqDepth)),
            "--log-level", "warning", "--write-calls", String(writeCalls),
        ], environment: ["ATREST_SECRET": BenchCluster.secret])
        defer { _ = gateway.terminate() }
        let (memory, memoryURI) = try await tools.startMemoryServer(size: bytes, directory: logs, cleanup: cleanup)
        defer { memory.stop() }
        let file = "\(cluster.root)/odirect-baseline.img"
        Self.say("O_DIRECT file \(file) (\(fileEngine)); AtRest's objects in \(cluster.objectsDirectory); "
                 + "same file system: \(Self.device(cluster.root) == Self.device(cluster.objectsDirectory) ? "yes" : "NO")")
        let targets = [
            Target(label: "AtRest", arguments: ["--ioengine=nbd", "--uri=\(gateway.endpoint)/bench/nbd-bench"]),
            Target(label: "nbdkit memory", arguments: ["--ioengine=nbd", "--uri=\(memoryURI)"]),
            Target(label: "O_DIRECT file", arguments: ["--ioengine=\(fileEngine)", "--direct=1", "--filename=\(file)"]),
        ]
        func fio(_ job: FioJob, _ target: Target) async throws -> FioResult {
            let output = try await BenchChild.output(tools.fio, job.arguments(size: bytes, seconds: seconds) + target.arguments,
                                                     directory: logs, cleanup: cleanup)
            guard gateway.isRunning else { throw FioFailure("atrest-nbd is no longer running (seen after \(job.name) on \(target.label))") }
            return try FioResult.parse(output, write: job.isWrite)
        }

        // Every target written over its whole size first: the reads below hit written pages, not sparse zeros.
        let fill = FioJob(name: "fill", label: "fill", pattern: "write", blockSize: 1 << 20, depth: seqDepth, timed: false)
        for target in targets {
            let start = BenchClock.now()
            _ = try await fio(fill, target)
            Self.say("fill \(target.label): \(bytes >> 20) MiB in 1 MiB writes + one fsync: \(decimals(Double(bytes) / 1_048_576 / (BenchClock.now() - start), 0)) MiB/s")
        }
        let written = try await disks.pageRanges("nbd-bench").reduce(UInt64(0)) { $0 + $1.length }
        guard written == bytes else { throw FioFailure("the fill left the AtRest disk with \(written) of \(bytes) bytes written") }

        let jobs = [
            FioJob(name: "randwrite-4k", label: "4 KiB random write, depth \(depth)", pattern: "randwrite", blockSize: 4096, depth: depth),
            FioJob(name: "randread-4k", label: "4 KiB random read, depth \(depth)", pattern: "randread", blockSize: 4096, depth: depth),
            FioJob(name: "write-1m", label: "1 MiB sequential write, depth \(seqDepth)", pattern: "write", blockSize: 1 << 20, depth: seqDepth),
            FioJob(name: "read-1m", label: "1 MiB sequential read, depth \(seqDepth)", pattern: "read", blockSize: 1 << 20, depth: seqDepth),
        ]
        var results: [[FioResult]] = []
        for job in jobs {
            var row: [FioResult] = []
            for target in targets {
                let result = try await fio(job, target)
                Self.say("  \(job.label) on \(target.label): \(NBDBenchTable.cell(result, job))")
                row.append(result)
            }
            results.append(row)
        }
        Self.say("")
        Self.say(NBDBenchTable(targets: targets.map(\.label), jobs: jobs, results: results).text)
    }

    /// A line on stdout at once, also into a pipe or a file (`print` would
    /// hold it in stdio's buffer there, and a run takes minutes).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// "1GiB", "512MiB", "64M", "4096": bytes.
    static func parseSize(_ text: String) -> UInt64? {
        let units: [(String, UInt64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
                                         ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let value = UInt64(text.dropLast(suffix.count)) else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            return overflow ? nil : product
        }
        return UInt64(text)
    }

    static func loadAverage() -> String {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) == 3 ? loads.map { decimals($0) }.joined(separator: " ") : "?"
    }

    static func device(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_dev) : nil
    }
}
