import ArgumentParser
import AtRestClient
import AtRestMetrics
import AtRestSockets
import AtRestStatus
import AtRestTesting
import Foundation
import Synchronization

/// `atrest-bench e2e --metrics-compare`: what `--metrics-listen` costs.
///
/// Design (session 16). Two long-lived clusters side by side could not
/// resolve the targets: an A/A control of two identical clusters differed by
/// 5.4% in throughput and 64 µs in p50, a bias of the processes themselves
/// (where they landed, what they kept) that stayed for the run. So every
/// round now starts a fresh cluster per side, one at a time (nothing of the
/// other side runs while a side is measured), in alternating order (off-on,
/// on-off, ...: drift hits both sides alike), and the cost is the mean of the
/// rounds' paired differences with a 95% confidence interval (Student's t):
/// a cluster's own bias becomes noise that more rounds average out, and the
/// interval says whether the run resolved the target. A round measures 4 KiB
/// puts with `--callers` callers (throughput), then a 4 KiB put and a 4 KiB
/// get with one caller (p50 of a small call), after 256 unmeasured puts that
/// warm the new cluster. While a metrics cluster is measured, every one of
/// its services is scraped every `--scrape-interval` seconds of the metrics
/// side's measured time (15 s: Prometheus' default).
///
/// Verdicts: met when the interval's upper end is within the target, missed
/// when its lower end is beyond it, otherwise not resolved (more rounds).
/// Targets: ≤ 2% throughput, ≤ 5 µs p50. `--aa-control` runs the same rounds
/// with metrics off on both sides: its interval is the resolution of the
/// run. Then what one scrape costs each service and the in-process cost of
/// recording one call.
extension EndToEndBench {
    func compareMetrics(scratch: String, small: [UInt8]) async throws {
        if aaControl {
            print("-- A/A control: the 'on' side runs WITHOUT --metrics-listen as well; every 'cost' below is the difference between two identical sides")
        }
        print("-- metrics off vs on (--metrics-listen on every service, each scraped every \(decimals(scrapeInterval, 1)) s of the metrics side's "
              + "measured time), \(rounds) rounds of a fresh cluster per side, one at a time, alternating order; 3 × \(decimals(seconds, 1)) s per side")
        if pin {
            try Self.pin(getpid(), cpu: 0)
            print("-- pinned: this bench, identity, vault and front door on CPU 0, the worker on CPU \(Self.lastCPU)")
        }
        let scraper = IntervalScraper(interval: scrapeInterval)
        let scraping = Task { await scraper.run() }
        defer { scraping.cancel() }
        var figures: [Bool: [RoundFigures]] = [false: [], true: []]
        for round in 0..<rounds {
            for enabled in round % 2 == 0 ? [false, true] : [true, false] {
                let tag = "round \(round + 1) metrics \(enabled ? "on " : "off")"
                let side = try await BenchCluster.start(workers: 1, root: "\(scratch)/r\(round)-\(enabled ? "on" : "off")", metrics: enabled && !aaControl)
                defer { BenchCluster.stop(side.cluster, keepingObjectsIn: "\(scratch)/objects-r\(round)-\(enabled ? "on" : "off")") }
                if pin { try Self.pin(side.cluster) }
                let measured = try await measureRound(side, small: small, scraper: enabled ? scraper : nil)
                figures[enabled]!.append(measured)
                print(measured.lines.map { "\(tag) \($0)" }.joined(separator: "\n"))
            }
        }
        scraping.cancel()
        let scrapes = await scraping.value
        let offRounds = figures[false]!, onRounds = figures[true]!
        let throughput = PairedDifference(zip(offRounds, onRounds).map { 1 - $1.throughput / $0.throughput })
        let get = PairedDifference(zip(offRounds, onRounds).map { ($1.getP50 - $0.getP50) * 1e6 })
        let put = PairedDifference(zip(offRounds, onRounds).map { ($1.putP50 - $0.putP50) * 1e6 })
        func median(_ side: [RoundFigures], _ value: (RoundFigures) -> Double) -> Double { PairedDifference.median(side.map(value)) }
        print("4 KiB puts, \(callers) callers: median \(decimals(median(offRounds, \.throughput), 1)) ops/s off, \(decimals(median(onRounds, \.throughput), 1)) on; "
              + "cost per round (1 − on/off) " + throughput.summary(scale: 100, unit: "%", target: 2))
        print("p50 of a 4 KiB get, 1 caller: median \(decimals(median(offRounds, \.getP50) * 1e6, 1)) µs off, \(decimals(median(onRounds, \.getP50) * 1e6, 1)) on; "
              + "added per round " + get.summary(scale: 1, unit: " µs", target: 5))
        print("p50 of a 4 KiB put, 1 caller: median \(decimals(median(offRounds, \.putP50) * 1e6, 1)) µs off, \(decimals(median(onRounds, \.putP50) * 1e6, 1)) on; "
              + "added per round " + put.summary(scale: 1, unit: " µs", target: 5))
        print("\(scrapes) scrapes answered")
        // CPU per call over all rounds of a side (sums, so the 10 ms ticks of /proc/<pid>/stat average out).
        for (name, pick) in [("put", \RoundFigures.puts), ("get", \RoundFigures.gets)] {
            let offCPU = offRounds.map { $0[keyPath: pick] }.reduce(CPUSpent(), +), onCPU = onRounds.map { $0[keyPath: pick] }.reduce(CPUSpent(), +)
            print("CPU per 4 KiB \(name) (all rounds, scrapes included): off \(offCPU.line), on \(onCPU.line); added: front door "
                  + "\(decimals(onCPU.frontDoorMicros - offCPU.frontDoorMicros, 2)) µs, worker \(decimals(onCPU.workerMicros - offCPU.workerMicros, 2)) µs, "
                  + "both \(decimals(onCPU.totalMicros / offCPU.totalMicros, 3))×")
        }
        if aaControl { return }
        let warm = try await BenchCluster.start(workers: 1, root: "\(scratch)/scrape-cost", metrics: true)
        defer { BenchCluster.stop(warm.cluster, keepingObjectsIn: "\(scratch)/objects-scrape-cost") }
        try await Self.fill(warm.blobs, small)
        for target in Self.metricsTargets(warm.cluster) {
            let cost = try await Self.scrapeCost(target.address, pid: target.pid)
            print("one scrape of the \(target.name): \(cost.bytes) bytes, answered in \(decimals(cost.seconds * 1e3, 2)) ms (median of \(cost.count)), "
                  + "\(decimals(cost.cpu * 1e3, 2)) ms CPU of the service; every \(decimals(scrapeInterval, 1)) s: "
                  + "\(decimals(cost.cpu / scrapeInterval * 100, 3))% of a core")
        }
        let (offNanos, onNanos) = Self.recordingCost()
        print("recording one finished call in-process (ServiceStatus.record, one thread): \(decimals(offNanos, 0)) ns without metrics, "
              + "\(decimals(onNanos, 0)) ns with (its share of every call on every service)")
    }

    /// One side of a round on a fresh cluster: 256 unmeasured puts, then the
    /// three measurements, with `scraper` (if any) scraping its services meanwhile.
    func measureRound(_ side: (cluster: LocalCluster, blobs: BlobClient), small: [UInt8], scraper: IntervalScraper?) async throws -> RoundFigures {
        let blobs = side.blobs
        try await Self.fill(blobs, small)
        let pids = [side.cluster.frontDoor.pid] + side.cluster.workerProcesses.map(\.pid)
        if let scraper {
            scraper.targets.withLock { $0 = Self.metricsTargets(side.cluster).map(\.address) }
            scraper.active.store(true, ordering: .relaxed)
        }
        defer { scraper?.active.store(false, ordering: .relaxed) }
        let putMark = CPUMark(pids: pids)
        let many = try await Latency.measure(seconds: seconds, callers: callers) { i in
            _ = try await blobs.put("bench", "m\(i % 256)", data: small)
        }
        let one = try await Latency.measure(seconds: seconds, callers: 1) { i in
            _ = try await blobs.put("bench", "m\(i % 256)", data: small)
        }
        // Each measurement makes one warm-up call besides its samples.
        let puts = putMark.spent(calls: many.count + one.count + 2)
        let getMark = CPUMark(pids: pids)
        let get = try await Latency.measure(seconds: seconds, callers: 1) { i in
            _ = try await blobs.get("bench", "m\(i % 256)")
        }
        let gets = getMark.spent(calls: get.count + 1)
        return RoundFigures(throughput: many.opsPerSecond, putP50: one.p50, getP50: get.p50, puts: puts, gets: gets, lines: [
            many.line("put 4 KiB, \(callers) callers", bytes: 4096), one.line("put 4 KiB, 1 caller", bytes: 4096),
            get.line("get 4 KiB, 1 caller", bytes: 4096), "CPU per put: \(puts.line); per get: \(gets.line)",
        ])
    }

    /// Puts the 256 objects `m0`…`m255` the measurements overwrite and read (unmeasured: warms a new cluster).
    static func fill(_ blobs: BlobClient, _ small: [UInt8]) async throws {
        for i in 0..<256 { _ = try await blobs.put("bench", "m\(i)", data: small) }
    }

    static var lastCPU: Int { max(0, sysconf(Int32(_SC_NPROCESSORS_ONLN)) - 1) }

    /// `--pin`: identity, vault and front door on CPU 0, the workers on the last CPU.
    static func pin(_ cluster: LocalCluster) throws {
        for process in [cluster.identity, cluster.vault, cluster.frontDoor] { try pin(process.pid, cpu: 0) }
        for process in cluster.workerProcesses { try pin(process.pid, cpu: lastCPU) }
    }

    /// Pins every thread of `pid` to `cpu` (threads it starts later inherit it).
    static func pin(_ pid: Int32, cpu: Int) throws {
        let taskset = Process()
        taskset.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        taskset.arguments = ["-a", "-p", "-c", "\(cpu)", "\(pid)"]
        taskset.standardOutput = FileHandle.nullDevice
        try taskset.run()
        taskset.waitUntilExit()
        guard taskset.terminationStatus == 0 else { throw ValidationError("taskset -a -p -c \(cpu) \(pid) failed (exit \(taskset.terminationStatus))") }
    }

    /// The services of `cluster` that serve metrics, with their addresses (the ready lines' `metrics` field).
    static func metricsTargets(_ cluster: LocalCluster) -> [(name: String, pid: Int32, address: (host: String, port: UInt16))] {
        let services = [("identity", cluster.identity), ("vault", cluster.vault), ("front door", cluster.frontDoor)]
            + cluster.workerProcesses.map { ("worker", $0) }
        return services.compactMap { name, process in
            process.fields["metrics"].flatMap { HostPort.parse($0) }.map { (name: name, pid: process.pid, address: $0) }
        }
    }

    /// The rounds' paired differences (on − off) of one figure: their mean
    /// with a 95% confidence interval (Student's t, n − 1 degrees of freedom)
    /// and their median.
    struct PairedDifference {
        let values: [Double]
        init(_ values: [Double]) { self.values = values }

        var mean: Double { values.reduce(0, +) / Double(max(values.count, 1)) }
        /// Half the width of the 95% interval around the mean (infinite with fewer than 2 rounds).
        var halfWidth: Double {
            let n = Double(values.count)
            guard values.count >= 2 else { return .infinity }
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
            return Self.t975(degrees: values.count - 1) * (variance / n).squareRoot()
        }

        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            let mid = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        }

        func verdict(target: Double) -> String { Self.verdict(low: mean - halfWidth, high: mean + halfWidth, target: target) }

        /// Met when the whole interval [low, high] is within `target`, missed when all of it is beyond.
        static func verdict(low: Double, high: Double, target: Double) -> String {
            if high <= target { return "met" }
            if low > target { return "MISSED" }
            return "not resolved (the interval contains the target: more rounds or pairs)"
        }

        func summary(scale: Double, unit: String, target: Double) -> String {
            "mean \(decimals(mean * scale, 2))\(unit) ± \(decimals(halfWidth * scale, 2)) (95%, n=\(values.count)), "
                + "median \(decimals(Self.median(values) * scale, 2))\(unit); target ≤ \(decimals(target, 0))\(unit): \(verdict(target: target / scale))"
        }

        /// Student's t quantile 0.975: the table's value below 3 degrees of
        /// freedom, the Cornish-Fisher expansion from 3 on (3.159 for 3.182
        /// there, within 0.004 from 5 on: 2.262 at 9, 2.045 at 29).
        static func t975(degrees: Int) -> Double {
            switch degrees {
            case ...0: return .infinity
            case 1: return 12.706
            case 2: return 4.303
            default:
                let z = 1.959964, n = Double(degrees)
                let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z
                return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n)
                    + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n)
            }
        }
    }

    struct RoundFigures {
        var throughput, putP50, getP50: Double
        var puts, gets: CPUSpent
        var lines: [String] = []
    }

    /// CPU seconds the front door (first pid) and the workers spent over `calls` calls.
    struct CPUSpent {
        var frontDoor = 0.0, workers = 0.0, calls = 0
        var frontDoorMicros: Double { frontDoor / Double(max(calls, 1)) * 1e6 }
        var workerMicros: Double { workers / Double(max(calls, 1)) * 1e6 }
        var totalMicros: Double { frontDoorMicros + workerMicros }
        var line: String { "front door \(decimals(frontDoorMicros, 1)) µs, worker \(decimals(workerMicros, 1)) µs (n=\(calls))" }
        static func + (a: CPUSpent, b: CPUSpent) -> CPUSpent {
            CPUSpent(frontDoor: a.frontDoor + b.frontDoor, workers: a.workers + b.workers, calls: a.calls + b.calls)
        }
    }

    /// The services' CPU seconds (/proc/<pid>/stat) when made.
    struct CPUMark {
        let pids: [Int32]
        let seconds: [Double]
        init(pids: [Int32]) {
            self.pids = pids
            seconds = pids.map(ProcessCPU.seconds(pid:))
        }
        func spent(calls: Int) -> CPUSpent {
            let spent = zip(pids.map(ProcessCPU.seconds(pid:)), seconds).map { $0 - $1 }
            return CPUSpent(frontDoor: spent[0], workers: spent.dropFirst().reduce(0, +), calls: calls)
        }
    }

    /// Scrapes `targets` every `interval` seconds of the time `active` is set
    /// (the metrics rounds), as Prometheus would scrape a running cluster.
    final class IntervalScraper: Sendable {
        /// The metrics side's services (set per round).
        let targets = Mutex<[(host: String, port: UInt16)]>([])
        let interval: Double
        let active = Atomic<Bool>(false)

        init(interval: Double) {
            self.interval = interval
        }

        /// Scrapes until cancelled; the scrapes answered.
        func run() async -> Int {
            var done = 0, elapsed = 0.0
            let tick = min(0.1, interval)
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(tick))
                guard active.load(ordering: .relaxed) else { continue }
                elapsed += tick
                guard elapsed >= interval else { continue }
                elapsed -= interval
                for address in targets.withLock({ $0 }) where (try? await EndToEndBench.scrape(address)) != nil { done += 1 }
            }
            return done
        }
    }

    /// What one scrape of a warm service costs: `count` scrapes in a row,
    /// the median time to the whole answer, its bytes, and the service's CPU per scrape.
    static func scrapeCost(_ address: (host: String, port: UInt16), pid: Int32, count: Int = 50)
        async throws -> (bytes: Int, seconds: Double, cpu: Double, count: Int) {
        var times: [Double] = [], bytes = 0
        let before = ProcessCPU.seconds(pid: pid)
        for _ in 0..<count {
            let start = BenchClock.now()
            bytes = try await scrape(address)
            times.append(BenchClock.now() - start)
        }
        let cpu = (ProcessCPU.seconds(pid: pid) - before) / Double(count)
        return (bytes, times.sorted()[count / 2], cpu, count)
    }

    /// Nanoseconds per `ServiceStatus.record` with the metrics disabled and enabled.
    static func recordingCost(count: Int = 200_000) -> (off: Double, on: Double) {
        func measure(_ enabled: Bool) -> Double {
            let metrics = ProcessMetrics()
            if enabled { metrics.enable() }
            let status = ServiceStatus(service: "bench", callMetrics: CallMetrics(metrics: metrics))
            let start = BenchClock.now()
            for i in 0..<count {
                status.record(method: i % 2 == 0 ? "atrest.v1.Blob/Put" : "atrest.v1.Blob/Get", code: .ok,
                              duration: .microseconds(100), requestBytes: 4096, responseBytes: 64)
            }
            return (BenchClock.now() - start) / Double(count) * 1e9
        }
        _ = measure(true)  // warm-up
        return (measure(false), measure(true))
    }

    /// Nanoseconds of what a durable put adds in the worker's store with
    /// metrics on: three timings (data fsync, directory fsync, the whole
    /// write), each two clock reads and one histogram record.
    static func storeTimingCost(count: Int = 200_000) -> Double {
        let metrics = ProcessMetrics()
        let histograms = ["data", "directory", "write"].map { metrics.histogram("bench", "timing", help: "bench", labels: [("kind", $0)]) }
        var sink = Duration.zero
        let start = BenchClock.now()
        for _ in 0..<count {
            for histogram in histograms {
                let started = ContinuousClock.now
                let took = ContinuousClock.now - started
                histogram.record(took)
                sink += took
            }
        }
        let nanos = (BenchClock.now() - start) / Double(count) * 1e9
        return sink < .zero ? 0 : nanos
    }

    /// One GET /metrics; the answer's size (head and body).
    static func scrape(_ address: (host: String, port: UInt16)) async throws -> Int { try await scrapeAnswer(address).count }

    /// One GET /metrics; the answer (head and body) as text.
    static func scrapeText(_ address: (host: String, port: UInt16)) async throws -> String {
        String(decoding: try await scrapeAnswer(address), as: UTF8.self)
    }

    private static func scrapeAnswer(_ address: (host: String, port: UInt16)) async throws -> [UInt8] {
        let connection = try await TCPConnection.connect(host: address.host, port: address.port)
        defer { connection.close() }
        try await connection.writeAll(Array("GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n".utf8))
        var answer: [UInt8] = []
        while true {
            do { answer += try await connection.readSome(maxCount: 65536) } catch { break }
        }
        return answer
    }
}
