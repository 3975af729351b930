import AtRestClient
import AtRestMetrics
import AtRestSockets
import AtRestStatus
import AtRestTesting
import Foundation
import Synchronization

/// `atrest-bench e2e --metrics-compare`: what `--metrics-listen` costs. Two
/// clusters of one worker each, identical but for the flag, measured in
/// alternating rounds in the same run (off-on, on-off, ...: drift on a
/// shared machine hits both sides): 4 KiB puts with `--callers` callers
/// (throughput) and with one caller, 4 KiB gets with one caller (p50 of a
/// small call). While the metrics cluster is measured, every one of its
/// services is scraped every `--scrape-interval` seconds of its measured
/// time (15 s: Prometheus' default). Reported: medians of the rounds, and
/// the CPU the services spent per call (front door + worker, from
/// /proc/<pid>/stat), which load on a shared machine distorts much less than
/// wall-clock figures; then what one scrape costs each service (time to
/// answer, bytes, CPU) and the in-process cost of recording one call.
/// Targets: ≤ 2% throughput, ≤ 5 µs p50. `--aa-control` runs the same
/// rounds with metrics off on both clusters: the spread it prints is the
/// floor below which a difference is noise of the two-cluster set-up.
extension EndToEndBench {
    func compareMetrics(scratch: String, small: [UInt8]) async throws {
        let off = try await BenchCluster.start(workers: 1, root: "\(scratch)/metrics-off")
        defer { BenchCluster.stop(off.cluster, keepingObjectsIn: "\(scratch)/objects-metrics-off") }
        // `--aa-control`: both clusters without metrics; what differs then is the two-cluster floor.
        let on = try await BenchCluster.start(workers: 1, root: "\(scratch)/metrics-on", metrics: !aaControl)
        defer { BenchCluster.stop(on.cluster, keepingObjectsIn: "\(scratch)/objects-metrics-on") }
        let services = [("identity", on.cluster.identity), ("vault", on.cluster.vault), ("front door", on.cluster.frontDoor)]
            + on.cluster.workerProcesses.map { ("worker", $0) }
        let targets = services.compactMap { name, process in
            process.fields["metrics"].flatMap { HostPort.parse($0) }.map { (name: name, pid: process.pid, address: $0) }
        }
        if aaControl {
            print("-- A/A control: the 'on' cluster runs WITHOUT --metrics-listen as well; every 'cost' below is the difference between two identical clusters")
        }
        print("-- metrics off vs on (--metrics-listen on every service, each scraped every \(decimals(scrapeInterval, 1)) s of the "
              + "metrics rounds), \(rounds) alternating rounds of 3 × \(decimals(seconds, 1)) s")
        for blobs in [off.blobs, on.blobs] {
            for i in 0..<256 { _ = try await blobs.put("bench", "m\(i)", data: small) }
        }
        let scraper = IntervalScraper(addresses: targets.map(\.address), interval: scrapeInterval)
        let scraping = Task { await scraper.run() }
        defer { scraping.cancel() }
        var figures: [Bool: [RoundFigures]] = [false: [], true: []]
        for round in 0..<rounds {
            for enabled in round % 2 == 0 ? [false, true] : [true, false] {
                let side = enabled ? on : off
                let blobs = side.blobs
                let pids = [side.cluster.frontDoor.pid] + side.cluster.workerProcesses.map(\.pid)
                scraper.active.store(enabled, ordering: .relaxed)
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
                scraper.active.store(false, ordering: .relaxed)
                figures[enabled]!.append(RoundFigures(throughput: many.opsPerSecond, putP50: one.p50, getP50: get.p50, puts: puts, gets: gets))
                let tag = "round \(round + 1) metrics \(enabled ? "on " : "off")"
                print(many.line("\(tag) put 4 KiB, \(callers) callers", bytes: 4096))
                print(one.line("\(tag) put 4 KiB, 1 caller", bytes: 4096))
                print(get.line("\(tag) get 4 KiB, 1 caller", bytes: 4096))
                print("\(tag) CPU per put: \(puts.line); per get: \(gets.line)")
            }
        }
        scraping.cancel()
        let scrapes = await scraping.value
        let offRounds = figures[false]!, onRounds = figures[true]!
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func median(_ side: [RoundFigures], _ value: (RoundFigures) -> Double) -> Double { median(side.map(value)) }
        let offRate = median(offRounds, \.throughput), onRate = median(onRounds, \.throughput)
        let cost = 1 - onRate / offRate
        let added = (median(onRounds, \.getP50) - median(offRounds, \.getP50)) * 1e6
        let putAdded = (median(onRounds, \.putP50) - median(offRounds, \.putP50)) * 1e6
        print("metrics cost (medians of \(rounds) rounds per side): 4 KiB puts, \(callers) callers: \(decimals(offRate, 1)) ops/s off, "
              + "\(decimals(onRate, 1)) on, ratio \(decimals(onRate / offRate, 3)), cost \(decimals(cost * 100, 1))% (target ≤ 2%: \(cost <= 0.02 ? "met" : "MISSED")); "
              + "p50 of a small call (4 KiB get) \(decimals(median(offRounds, \.getP50) * 1e6, 1)) µs off, \(decimals(median(onRounds, \.getP50) * 1e6, 1)) µs on, "
              + "\(decimals(added, 1)) µs added (target ≤ 5 µs: \(added <= 5 ? "met" : "MISSED")); p50 of a 4 KiB put \(decimals(putAdded, 1)) µs added; "
              + "\(scrapes) scrapes answered")
        // CPU per call over all rounds of a side (sums, so the 10 ms ticks of /proc/<pid>/stat average out).
        for (name, pick) in [("put", \RoundFigures.puts), ("get", \RoundFigures.gets)] {
            let offCPU = offRounds.map { $0[keyPath: pick] }.reduce(CPUSpent(), +), onCPU = onRounds.map { $0[keyPath: pick] }.reduce(CPUSpent(), +)
            print("CPU per 4 KiB \(name) (all rounds, scrapes included): off \(offCPU.line), on \(onCPU.line); added: front door "
                  + "\(decimals(onCPU.frontDoorMicros - offCPU.frontDoorMicros, 2)) µs, worker \(decimals(onCPU.workerMicros - offCPU.workerMicros, 2)) µs, "
                  + "both \(decimals(onCPU.totalMicros / offCPU.totalMicros, 3))×")
        }
        if aaControl { return }
        for target in targets {
            let cost = try await Self.scrapeCost(target.address, pid: target.pid)
            print("one scrape of the \(target.name): \(cost.bytes) bytes, answered in \(decimals(cost.seconds * 1e3, 2)) ms (median of \(cost.count)), "
                  + "\(decimals(cost.cpu * 1e3, 2)) ms CPU of the service; every \(decimals(scrapeInterval, 1)) s: "
                  + "\(decimals(cost.cpu / scrapeInterval * 100, 3))% of a core")
        }
        let (offNanos, onNanos) = Self.recordingCost()
        print("recording one finished call in-process (ServiceStatus.record, one thread): \(decimals(offNanos, 0)) ns without metrics, "
              + "\(decimals(onNanos, 0)) ns with (its share of every call on every service)")
    }

    struct RoundFigures {
        var throughput, putP50, getP50: Double
        var puts, gets: CPUSpent
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

    /// Scrapes `addresses` every `interval` seconds of the time `active` is set
    /// (the metrics rounds), as Prometheus would scrape a running cluster.
    final class IntervalScraper: Sendable {
        let addresses: [(host: String, port: UInt16)]
        let interval: Double
        let active = Atomic<Bool>(false)

        init(addresses: [(host: String, port: UInt16)], interval: Double) {
            self.addresses = addresses
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
                for address in addresses where (try? await EndToEndBench.scrape(address)) != nil { done += 1 }
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

    /// One GET /metrics; the answer's size (head and body).
    static func scrape(_ address: (host: String, port: UInt16)) async throws -> Int {
        let connection = try await TCPConnection.connect(host: address.host, port: address.port)
        defer { connection.close() }
        try await connection.writeAll(Array("GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n".utf8))
        var size = 0
        while true {
            do { size += try await connection.readSome(maxCount: 65536).count } catch { break }
        }
        return size
    }
}
