import AtRestRuntime
import ArgumentParser
import AtRestClient
import AtRestCrypto
import AtRestRados
import AtRestTesting
import Foundation
import Glibc
import Synchronization

/// `atrest-bench e2e` (issue 6): the real five processes, through the front
/// door with 1 and then 2 workers, as a client does it (`BlobClient` with
/// its defaults: token and account on every call, no content hash; one more
/// 64 MiB line with `BlobChecksum.perMessage` shows what hashing costs):
/// 4 KiB put/get latency and ops/s, 1 MiB and 64 MiB put/get throughput,
/// CPU per GiB of client, front door and workers, and peak RSS of every
/// service. Baseline in the same run and on the same filesystem as the
/// object store: plain open+write+fsync+close of the same bytes to a new
/// file; for 64 MiB the device (O_DIRECT), the CPU floor and the read/GCM
/// open baselines of `measureLarge` (EndToEndBench+Large.swift).
/// Targets: 64 MiB put ≥ 0.8× min(device, CPU floor); 64 MiB get ≥ 0.8×
/// min(plain read, GCM open); 4 KiB put p99 ≤ 5 ms.
struct EndToEndBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e", abstract: "End-to-end blob put/get through the front door with 1 and 2 workers vs plain write+fsync "
            + "(with --backend rados: vs librados' own write_full/read of the same sizes, same number in flight, same pool).")

    /// Rounds of librados writes and of AtRest puts, alternated, for the 4 KiB ratio on RADOS.
    static let interleavedRounds = 3

    @Option(help: "Seconds per 4 KiB / 1 MiB measurement.") var seconds = 2.0
    @Option(help: "Concurrent callers for the concurrent 4 KiB and the 1 MiB measurements.") var callers = 4
    @Option(help: "64 MiB objects put and got per worker count (and plain 64 MiB writes between the puts).") var largeCount = 5
    @Option(help: "Worker counts to measure, comma-separated.") var workers = "1,2"
    @Option(help: "Parent directory of the cluster's data (the baseline writes there too).") var directory = NSTemporaryDirectory()
    @Option(help: "Cases to run, comma-separated, from: 4k, 1m, 64m, 4k16 (16 callers against 16 plain writers, --rounds alternating rounds; not run unless named).") var cases = "4k,1m,64m"
    @Option(name: .customLong("block-mib"), help: "Block and range size of the 64 MiB transfers, in MiB (BlobTransferOptions).") var blockMiB = 4
    @Option(help: "Blocks or ranges in flight (BlobTransferOptions.parallelism).") var parallelism = 8
    @OptionGroup var storageOptions: BenchBackendOptions
    @Flag(help: "Only measure what --metrics-listen costs: 4 KiB puts and gets on a fresh cluster without it and a fresh one with it, one at a time (every service of the metrics side scraped each --scrape-interval), --rounds rounds in alternating order; the cost with a 95% interval.")
    var metricsCompare = false
    @Option(help: "--metrics-compare: seconds between scrapes of each service of the metrics cluster (of its measured time; Prometheus' default is 15).")
    var scrapeInterval = 15.0
    @Option(help: "--metrics-compare: rounds, each a fresh cluster per side (off-on, then on-off, alternating; 40 resolve the throughput target here, docs/BENCHMARKS.md); 4k16: rounds per side (plain writers, puts).") var rounds = 6
    @Flag(help: "--metrics-compare: an A/A control: the 'on' side runs without --metrics-listen too (nothing scraped), so the printed 'cost' is the difference between two identical sides and its interval the run's resolution. --metrics-toggle: recording stays paused in the 'on' windows too.")
    var aaControl = false
    @Flag(help: "Only measure what recording metrics costs, within one cluster with --metrics-listen on every service: recording paused (SIGUSR1) and resumed (SIGUSR2) between --window second windows, --pairs pairs per figure in ABBA order; the cost with a 95% interval, and a check that the front door counted exactly the calls made while recording.")
    var metricsToggle = false
    @Option(help: "--metrics-toggle: seconds per window (short windows cancel the host's drift, docs/BENCHMARKS.md).") var window = 0.05
    @Option(help: "--metrics-toggle: pairs of windows (one paused, one recording) per figure.") var pairs = 1000
    @Option(help: "--metrics-toggle: figures, comma-separated, from: puts (--callers callers, throughput), put (1 caller, p50), get (1 caller, p50).")
    var toggleFigures = "puts,put,get"
    @Option(help: "--metrics-toggle: write each measured window (figure, on/off, CLOCK_MONOTONIC start and end, calls) to this file, to split a `perf record -k CLOCK_MONOTONIC` profile by window.")
    var windowLogPath: String?
    @Flag(help: "--metrics-compare, --metrics-toggle: pin the processes (taskset, every thread): this bench, identity, vault and front door on CPU 0, the worker on the last CPU, so every side runs on the same placement.")
    var pin = false

    func validate() throws {
        guard scrapeInterval > 0, scrapeInterval.isFinite else { throw ValidationError("--scrape-interval: seconds, more than 0") }
        guard rounds >= 1 else { throw ValidationError("--rounds: at least 1") }
        guard pairs >= 2, window > 0, window.isFinite else { throw ValidationError("--pairs: at least 2; --window: seconds, more than 0") }
    }

    func run() async throws {
        MemoryTuning.keepLargeBuffers()  // as the `atrest` CLI does for its transfers
        let selected = Set(cases.split(separator: ",").map(String.init))
        let large = try SecureRandom.bytes(64 << 20)
        let mid = Array(large[0..<(1 << 20)]), small = Array(large[0..<4096])
        print("e2e bench: services from \(BenchCluster.binDirectory), data under \(directory), \(callers) callers, \(seconds) s per case")
        let raw = try RawGCMBench(size: 4 << 20)
        let rawRate = try BenchClock.throughput(seconds: 1, bytesPerIteration: 4 << 20) { try raw.seal() }
        // CPU time, not wall time: on a loaded machine the wall clock charges the cipher for others' work.
        let rawCPUPerGiB = try BenchClock.threadCPUPerGiB(bytesPerIteration: 4 << 20, iterations: 64) { try raw.seal() }
        print("reference raw AES-256-GCM seal, 4 MiB buffers in 64 KiB calls, 1 thread: \(decimals(rawRate / 1_048_576, 0)) MiB/s (best slice), "
              + "\(decimals(rawCPUPerGiB, 3)) CPU s/GiB (thread CPU time)")

        // Everything this run writes stays until it ends: deleting thousands
        // of files (the baseline's, a finished cluster's) right before a
        // measured phase would make ext4 without a journal skip them on every
        // create for minutes (`recently_deleted`), charging the bench's own
        // clean-up to the store measured next.
        let scratch = LocalCluster.temporaryDirectory(under: directory, "e2e")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if metricsCompare { return try await compareMetrics(scratch: scratch, small: small) }
        if metricsToggle { return try await toggleMetrics(scratch: scratch, small: small) }
        let root = "\(scratch)/baseline"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // A new file per write, as the store writes a new file per object
        // (rewriting an existing file with O_TRUNC costs ext4 extra journal work).
        var plain: [String: Latency] = [:]
        // (The 64 MiB baseline is measured interleaved with the 64 MiB puts, below.)
        for (tag, bytes, label) in [("4k", small, "4 KiB"), ("1m", mid, "1 MiB")] where selected.contains(tag) {
            let result = try await Latency.measure(seconds: seconds, callers: 1) { i in try PlainWrite.write(bytes, to: "\(root)/\(tag)-\(i)") }
            plain[tag] = result
            print(result.line("baseline plain write+fsync \(label), 1 writer", bytes: bytes.count))
        }

        var ceiling: [String: [RadosCeiling.Figure]] = [:]
        var bound = RadosBound()
        /// AtRest's rate against the ceiling's write (`write` prefix: the
        /// striped one for 64 MiB) of the same size, with the target; below
        /// a bound that the cores allow (`RadosBound`), the target counts as
        /// met at 0.95 of that bound (docs/BENCHMARKS.md). `ceilingOps`: the
        /// ceiling measured in rounds alternating with AtRest's, if it was.
        func versusCeiling(_ tag: String, _ rate: Double, target: Double, prefix: String = "write_full", ceilingOps: Double? = nil) -> String {
            guard let ceilingOps = ceilingOps ?? ceiling[tag]?.last(where: { $0.label.hasPrefix(prefix) })?.latency.opsPerSecond else { return "" }
            let ratio = rate / ceilingOps
            var line = "  vs librados: \(decimals(ratio))  target \(decimals(target))"
            var goal = target
            if let limit = bound.ratio(tag, ceiling: ceilingOps) {
                line += "  bound on shared cores \(decimals(limit))"
                if limit < target {
                    goal = 0.95 * limit
                    line += " (target below it: \(decimals(goal)))"
                }
            }
            return line + ": \(ratio >= goal ? "met" : "MISSED")"
        }

        // The 64 MiB baselines (device, CPU floor, GCM open), made once; the CPU floor only on the local backend.
        let largeBaselines = selected.contains("64m")
            ? try await LargeBaselines(large: large, blockSize: blockMiB << 20, inFlight: parallelism, directory: scratch, floor: !storageOptions.isRados)
            : nil
        for count in workers.split(separator: ",").compactMap({ Int($0) }) {
            // On RADOS a fresh cluster per worker count: the account registry
            // lives in the pool, and each cluster of services has its own keys.
            let dev = try storageOptions.startCeph("the ceiling is librados aio on the same pool")
            defer { try? dev?.stop() }
            let storage = dev?.clusterStorage() ?? .local
            var librados: RadosPool?
            if let dev { (ceiling, librados) = try await measureCeiling(dev, selected) }
            if storageOptions.isRados {
                bound = try await RadosBound.measure(
                    selected: selected, workers: count, callers: callers, seconds: seconds, largeCount: largeCount,
                    options: BlobTransferOptions(blockSize: blockMiB << 20, rangeSize: blockMiB << 20, parallelism: parallelism),
                    small: small, mid: mid, large: large)
            }
            let (cluster, client) = try await BenchCluster.start(workers: count, root: "\(scratch)/cluster-\(count)", storage: storage)
            let blobs = BlobClient(client.base, account: client.account, options: BlobTransferOptions(
                blockSize: blockMiB << 20, rangeSize: blockMiB << 20, parallelism: parallelism))
            defer { BenchCluster.stop(cluster, keepingObjectsIn: "\(scratch)/objects-\(count)") }
            let cpu = ClusterCPU(cluster, rawCPUPerGiB: rawCPUPerGiB)
            print("-- \(count) worker\(count == 1 ? "" : "s")")
            let memory = ClusterMemory(cluster)
            print(memory.line("idle after start-up", limitMiB: 64))
            if selected.contains("4k"), let plain4k = plain["4k"] {
                // Where the cores go per put: on RADOS the OSDs share them with AtRest.
                let meter = CPUMeter(groups: (dev.map { [CPUMeter.cephGroup($0)] } ?? []) + [
                    ("client", [0]), ("front door", [cluster.frontDoor.pid]), ("workers", cluster.workerProcesses.map(\.pid)),
                    ("identity+vault", [cluster.identity.pid, cluster.vault.pid])])
                for n in Set([1, callers]).sorted() {
                    var puts = MeteredRounds(meter: meter, dev: dev)
                    let ceilingOps = try await alternate("4k", n == callers ? librados : nil, dev: dev) {
                        try await puts.round {
                            try await Latency.measure(seconds: seconds, callers: n) { i in _ = try await blobs.put("bench", "s\(i % 256)", data: small) }
                        }
                    }
                    let put = puts.latency
                    print(put.line("put 4 KiB, \(n) caller\(n == 1 ? "" : "s")", bytes: 4096)
                          + "  p99 target 5 ms: \(put.p99 <= 0.005 ? "met" : "MISSED")  ops/s vs plain: \(decimals(put.opsPerSecond / plain4k.opsPerSecond))"
                          + (n == callers ? versusCeiling("4k", put.opsPerSecond, target: 0.5, ceilingOps: ceilingOps) : ""))
                    if ceilingOps != nil { print("   ops/s per round: \(Latency.rates(puts.parts))") }
                    if let line = puts.osdLine { print(line) }
                    print(puts.cpuLine)
                    let get = try await Latency.measure(seconds: seconds, callers: n) { i in
                        _ = try await blobs.get("bench", "s\(i % min(256, put.count))")
                    }
                    print(get.line("get 4 KiB, \(n) caller\(n == 1 ? "" : "s")", bytes: 4096))
                }
            }
            if selected.contains("4k16") {
                try await Self.smallPuts(blobs, root: root, workers: count, seconds: seconds, rounds: rounds)
            }
            if selected.contains("1m"), let plain1m = plain["1m"] {
                var puts = MeteredRounds(meter: cpu.meter, dev: dev)
                let ceilingOps = try await alternate("1m", librados, dev: dev) {
                    try await puts.round {
                        try await Latency.measure(seconds: seconds, callers: callers) { i in _ = try await blobs.upload("bench", "m\(i % 16)", data: mid) }
                    }
                }
                let put1 = puts.latency
                print(put1.line("put 1 MiB, \(callers) callers", bytes: 1 << 20) + "  ratio to plain: \(decimals(put1.opsPerSecond / plain1m.opsPerSecond))"
                      + versusCeiling("1m", put1.opsPerSecond, target: 0.8, ceilingOps: ceilingOps))
                if ceilingOps != nil { print("   ops/s per round: \(Latency.rates(puts.parts))") }
                if let line = puts.osdLine { print(line) }
                print(cpu.line(spent: puts.cpuSpent, bytes: Double(puts.ops) * Double(1 << 20)))
                let mark = cpu.sample()
                let get1 = try await Latency.measure(seconds: seconds, callers: callers) { i in
                    _ = try await blobs.download("bench", "m\(i % min(16, put1.count))")
                }
                print(get1.line("get 1 MiB, \(callers) callers", bytes: 1 << 20))
                print(cpu.line(since: mark, bytes: Double(get1.count + 1) * Double(1 << 20)))
            }
            if selected.contains("64m") {
                try await measureLarge(blobs, cpu: cpu, root: root, workers: count, large: large, baselines: largeBaselines!, dev: dev,
                                       librados: librados.map { RadosCeiling(pool: $0, inFlight: parallelism, seconds: seconds) },
                                       versusCeiling: { versusCeiling($0, $1, target: $2, prefix: $3, ceilingOps: $4) })
            }
            print(memory.line("after the run", limitMiB: 256))
        }
    }
}

extension EndToEndBench {
    /// With `librados`, `interleavedRounds` rounds of its write_full of
    /// objects of size `tag` alternate with rounds of `measure` (AtRest's),
    /// and the ceiling's figure is printed and its ops/s returned: what a
    /// write costs a fresh cluster's OSDs drifts over its first seconds, so a
    /// ceiling measured only at the start would not be measured under the
    /// same conditions (docs/BENCHMARKS.md, session 27). Without, one round.
    func alternate(_ tag: String, _ librados: RadosPool?, dev: CephDevScript?, _ measure: () async throws -> Void) async throws -> Double? {
        guard let librados, let dev, let size = RadosCeiling.Size.named(tag) else {
            try await measure()
            return nil
        }
        let ceiling = RadosCeiling(pool: librados, inFlight: callers, seconds: seconds)
        var writes = MeteredRounds(meter: .librados(dev), dev: dev)
        for _ in 0..<Self.interleavedRounds {
            try await writes.round { try await ceiling.writeFullRound(size) }
            try await measure()
        }
        let figure = RadosCeiling.Figure(size: size, label: "write_full \(size.label), \(callers) in flight, \(Self.interleavedRounds) rounds between AtRest's",
                                         latency: writes.latency, cpu: writes.cpuLine)
        print("ceiling " + figure.line)
        print("   ops/s per round: \(Latency.rates(writes.parts))")
        return figure.latency.opsPerSecond
    }

    /// librados' own write_full and read of each selected size on the ceph-dev cluster's pool, printed.
    /// Also returns the pool, for the ceiling's rounds interleaved with AtRest's.
    func measureCeiling(_ dev: CephDevScript, _ selected: Set<String>) async throws -> ([String: [RadosCeiling.Figure]], RadosPool) {
        let pool = try RadosCluster(RadosConfiguration(confFile: dev.confFile, user: "client.atrest", keyringFile: dev.keyringFile,
                                                       timeout: .seconds(60))).openPool("atrest")
        var ceiling: [String: [RadosCeiling.Figure]] = [:]
        for (tag, inFlight) in [("4k", callers), ("1m", callers), ("64m", parallelism)] where selected.contains(tag) {
            var librados = RadosCeiling(pool: pool, inFlight: inFlight, seconds: seconds)
            if tag == "4k" { librados.meter = .librados(dev) }
            let figures = try await librados.measure(RadosCeiling.Size.named(tag)!)
            ceiling[tag] = figures
            for figure in figures { print("ceiling " + figure.line) }
        }
        return (ceiling, pool)
    }
}

/// CPU seconds of the bench (the client), the front door and the workers,
/// so a throughput line can say where the cores went (per GiB moved).
struct ClusterCPU {
    let frontDoor: Int32
    let workers: [Int32]
    let rawCPUPerGiB: Double

    init(_ cluster: LocalCluster, rawCPUPerGiB: Double) {
        frontDoor = cluster.frontDoor.pid
        workers = cluster.workerProcesses.map(\.pid)
        self.rawCPUPerGiB = rawCPUPerGiB
    }

    /// The same three as a `CPUMeter` (for `MeteredRounds`), in `Sample`'s order.
    var meter: CPUMeter { CPUMeter(groups: [("client", [0]), ("front door", [frontDoor]), ("workers", workers)]) }

    /// `line(spent:bytes:)` for what `meter` measured.
    func line(spent: [Double], bytes: Double) -> String {
        line(spent: Sample(client: spent[0], frontDoor: spent[1], workers: spent[2]), bytes: bytes)
    }

    struct Sample {
        var client, frontDoor, workers: Double
        static func - (a: Sample, b: Sample) -> Sample {
            Sample(client: a.client - b.client, frontDoor: a.frontDoor - b.frontDoor, workers: a.workers - b.workers)
        }
        static func + (a: Sample, b: Sample) -> Sample {
            Sample(client: a.client + b.client, frontDoor: a.frontDoor + b.frontDoor, workers: a.workers + b.workers)
        }
    }

    func sample() -> Sample {
        Sample(client: ProcessCPU.selfSeconds(), frontDoor: ProcessCPU.seconds(pid: frontDoor),
               workers: workers.map(ProcessCPU.seconds(pid:)).reduce(0, +))
    }

    /// CPU seconds per GiB of each since `mark`; `bytes` must include the
    /// measurement's warm-up call, which ran after the mark.
    func line(since mark: Sample, bytes: Double) -> String { line(spent: sample() - mark, bytes: bytes) }

    /// CPU seconds per GiB of each for `spent` moving `bytes`.
    func line(spent: Sample, bytes: Double) -> String {
        let gib = max(bytes, 1) / Double(1 << 30)
        let workers = spent.workers / gib
        let sum = (spent.client + spent.frontDoor + spent.workers) / gib
        return "   CPU s/GiB: client \(decimals(spent.client / gib)), front door \(decimals(spent.frontDoor / gib)), "
            + "workers \(decimals(workers)) (\(decimals(workers / rawCPUPerGiB, 1))× raw AES-GCM), "
            + "sum \(decimals(sum)) (\(decimals(sum / rawCPUPerGiB, 1))× raw AES-GCM \(decimals(rawCPUPerGiB, 3)))"
    }
}

/// The baseline: a new file with the bytes, made durable (fsync), closed.
enum PlainWrite {
    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw ValidationError("open \(path): errno \(errno)") }
        defer { close(fd) }
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                guard n > 0 else { throw ValidationError("write \(path): errno \(errno)") }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw ValidationError("fsync \(path): errno \(errno)") }
    }
}

/// Per-call latencies of `callers` concurrent loops, for `seconds` or until
/// `count` calls (one warm-up call first, not counted).
struct Latency {
    var samples: [Double]
    var wall: Double
    var count: Int { samples.count }
    var opsPerSecond: Double { wall > 0 ? Double(samples.count) / wall : 0 }
    func percentile(_ p: Double) -> Double {
        let sorted = samples.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
    var p50: Double { percentile(0.5) }
    var p99: Double { percentile(0.99) }

    func line(_ name: String, bytes: Int) -> String {
        let mib = opsPerSecond * Double(bytes) / 1_048_576
        return "\(name.padding(toLength: max(44, name.count), withPad: " ", startingAt: 0)) p50 \(decimals(p50 * 1000)) ms  p99 \(decimals(p99 * 1000)) ms  "
            + "\(decimals(opsPerSecond, 1)) ops/s  \(decimals(mib, 1)) MiB/s  (n=\(count))"
    }

    /// Call numbers shared by the callers.
    final class Ticket: Sendable { let value = Atomic<Int>(0) }

    static func measure(seconds: Double, count: Int = .max, callers: Int,
                        _ body: @escaping @Sendable (Int) async throws -> Void) async throws -> Latency {
        try await body(0)
        let next = Ticket()
        let start = BenchClock.now()
        let deadline = start + seconds
        let samples = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var mine: [Double] = []
                    while true {
                        let i = next.value.add(1, ordering: .relaxed).newValue
                        if i > count || (count == .max && BenchClock.now() >= deadline) { break }
                        let t = BenchClock.now()
                        try await body(i)
                        mine.append(BenchClock.now() - t)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        return Latency(samples: samples, wall: BenchClock.now() - start)
    }
}

func decimals(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
