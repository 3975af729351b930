import ArgumentParser
import AtRestClient
import AtRestTesting
import AtRestWire
import Foundation
import Glibc

/// `atrest-bench e2e --metrics-toggle`: what recording metrics costs a call,
/// measured within one set of processes.
///
/// Why (session 19). `--metrics-compare` starts a fresh cluster per side, and
/// fresh clusters differ among themselves: the p50 of a 4 KiB get spread from
/// 0.68 to 0.92 ms over 120 of them, so its interval stayed wider than the
/// 5 µs target (docs/BENCHMARKS.md "Session 16"). Here one cluster runs
/// with `--metrics-listen` on every service for the whole run, and SIGUSR1 /
/// SIGUSR2 pause and resume recording in every service (`MetricsServer`)
/// between short windows: the processes, their placement and their memory
/// are the same on both sides, so only recording differs.
///
/// What "paused" leaves out, and why that is fair: the listener's thread
/// (blocked in `accept`, no CPU between scrapes) runs in both states, and
/// scrapes happen only in the recording windows, at `--scrape-interval` of
/// recording time, so their cost counts against recording. Everything that
/// runs per call with metrics on (`CallMetrics`, `ServiceStatus`'s recorder,
/// the front door's data-call recording, the store's timings, the vault's
/// counters) is gated by `ProcessMetrics.isEnabled`, which the pause clears,
/// and the run checks that: the front door's counters must have moved by
/// exactly the calls made while recording.
///
/// Windows come in pairs, in ABBA order (off-on, on-off, ...), so a drift of
/// the machine hits both sides alike, and they are short (default 50 ms):
/// on this shared 2-core host the p50 drifts by tens of microseconds over
/// seconds, and in the same measured time 160 pairs of 125 ms resolved an
/// A/A control to ±8.6 µs where 40 pairs of 0.5 s gave ±12 and 20 of 1 s
/// ±26 (docs/BENCHMARKS.md). Each figure's verdict is the mean of the pairs'
/// differences with a 95% interval (Student's t, sound at hundreds of pairs
/// even with the heavy tails these differences have), as in
/// `--metrics-compare`. A pooled figure is printed beside it as a
/// cross-check: the p50 of all recording windows' calls minus that of all
/// paused windows' calls (throughput: 1 − the ratio of their rates), with a
/// bootstrap interval over the pairs (`PairedWindows`).
/// `--aa-control` pauses recording in both windows of a pair: its interval
/// is the method's resolution, and its mean the bias of the window order.
extension EndToEndBench {
    func toggleMetrics(scratch: String, small: [UInt8]) async throws {
        print("-- metrics recording paused/resumed (SIGUSR1/SIGUSR2) in one cluster with --metrics-listen on every service; "
              + "\(pairs) pairs of \(decimals(window, 2)) s windows per figure, ABBA order; scraped every \(decimals(scrapeInterval, 1)) s of recording time"
              + (aaControl ? "\n-- A/A control: recording stays paused in the 'on' windows too; every 'cost' below is the difference between two identical sides" : ""))
        let side = try await BenchCluster.start(workers: 1, root: "\(scratch)/toggle", metrics: true)
        defer { BenchCluster.stop(side.cluster, keepingObjectsIn: "\(scratch)/objects-toggle") }
        if pin {
            try Self.pin(getpid(), cpu: 0)
            try Self.pin(side.cluster)
            print("-- pinned: this bench, identity, vault and front door on CPU 0, the worker on CPU \(Self.lastCPU)")
        }
        let blobs = side.blobs
        try await Self.fill(blobs, small)
        let targets = Self.metricsTargets(side.cluster)
        guard targets.count == 4, let frontDoor = targets.first(where: { $0.name == "front door" }) else {
            throw ValidationError("the cluster's services do not all show a metrics address")
        }
        let scraper = IntervalScraper(interval: scrapeInterval)
        scraper.targets.withLock { $0 = targets.map(\.address) }
        let scraping = Task { await scraper.run() }
        defer { scraping.cancel() }
        let pids = [side.cluster.frontDoor.pid] + side.cluster.workerProcesses.map(\.pid)

        /// Pauses or resumes recording in every service, then lets the signals land.
        /// With --aa-control both sides pause (SIGUSR1 before every window).
        func record(_ on: Bool) async throws {
            let on = on && !aaControl
            for target in targets where kill(target.pid, on ? SIGUSR2 : SIGUSR1) != 0 {
                throw ValidationError("kill \(target.name) (pid \(target.pid)): errno \(errno)")
            }
            scraper.active.store(on, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(5))
        }

        let put: @Sendable (Int) async throws -> Void = { i in _ = try await blobs.put("bench", "m\(i % 256)", data: small) }
        let get: @Sendable (Int) async throws -> Void = { i in _ = try await blobs.get("bench", "m\(i % 256)") }
        let all: [(key: String, name: String, method: String, callers: Int, call: @Sendable (Int) async throws -> Void, value: (Latency) -> Double,
                    throughput: Bool, target: Double)] = [
            ("puts", "4 KiB puts, \(callers) callers: throughput cost ((off − on) / mean off)", BlobMethod.put.name, callers, put, \.opsPerSecond, true, 2),
            ("put", "p50 of a 4 KiB put, 1 caller: added", BlobMethod.put.name, 1, put, \.p50, false, 5),
            ("get", "p50 of a 4 KiB get, 1 caller: added", BlobMethod.get.name, 1, get, \.p50, false, 5),
        ]
        let chosen = Set(toggleFigures.split(separator: ",").map(String.init))
        let figures = all.filter { chosen.contains($0.key) }
        guard !figures.isEmpty, chosen.isSubset(of: all.map(\.key)) else { throw ValidationError("--toggle-figures: from puts, put, get") }
        let counted = try await Self.frontDoorCalls(frontDoor.address)
        var recordedCalls: [String: Int] = [:], unrecordedCalls: [String: Int] = [:]
        var windowLog = ["# figure state start end calls (CLOCK_MONOTONIC seconds, as perf record -k CLOCK_MONOTONIC)"]
        for figure in figures {
            var differences: [Double] = [], windows = PairedWindows()
            var cpu: [Bool: CPUSpent] = [false: CPUSpent(), true: CPUSpent()]
            for pair in 0..<pairs {
                var values: [Bool: Double] = [:]
                for on in pair % 2 == 0 ? [false, true] : [true, false] {
                    try await record(on)
                    let settle = try await Latency.measure(seconds: .infinity, count: 5, callers: 1, figure.call)
                    let mark = CPUMark(pids: pids), opened = BenchClock.now()
                    let measured = try await Latency.measure(seconds: window, callers: figure.callers, figure.call)
                    windowLog.append("\(figure.key) \(on ? "on" : "off") \(decimals(opened, 6)) \(decimals(BenchClock.now(), 6)) \(measured.count)")
                    cpu[on] = cpu[on]! + mark.spent(calls: measured.count + 1)
                    // Latency.measure makes one warm-up call besides its samples.
                    let calls = settle.count + 1 + measured.count + 1
                    if on && !aaControl { recordedCalls[figure.method, default: 0] += calls } else { unrecordedCalls[figure.method, default: 0] += calls }
                    values[on] = figure.value(measured)
                    windows.add(measured, on: on)
                }
                differences.append(values[true]! - values[false]!)
            }
            if figure.throughput {
                // Rates of 50 ms windows: one stalled window makes a pair's own ratio huge, so
                // each pair's rate difference is scaled by the mean paused rate instead (linear, unbiased).
                let offMean = windows.rate(on: false)
                differences = differences.map { -$0 / offMean }
            }
            let unit = figure.throughput ? "%" : " µs", scale = figure.throughput ? 100.0 : 1e6
            let pooled = figure.throughput ? windows.bootstrap(PairedWindows.throughputCost) : windows.bootstrap(PairedWindows.medianAdded)
            print("\(figure.name) per pair: \(PairedDifference(differences).summary(scale: scale, unit: unit, target: figure.target))")
            print("    pooled (cross-check): \(pooled.summary(scale: scale, unit: unit, target: figure.target))")
            print("    pooled off \(windows.line(on: false, throughput: figure.throughput)), on \(windows.line(on: true, throughput: figure.throughput)); "
                  + "CPU per call off \(cpu[false]!.line), on \(cpu[true]!.line)")
        }
        try await record(true)
        scraping.cancel()
        let scrapes = await scraping.value
        // The check that the pause is what was measured: the front door counted every call made while recording, and none other.
        let after = try await Self.frontDoorCalls(frontDoor.address)
        var exact = true
        for method in [BlobMethod.put.name, BlobMethod.get.name] {
            let moved = (after[method] ?? 0) - (counted[method] ?? 0)
            let expected = recordedCalls[method] ?? 0
            exact = exact && moved == expected
            print("front door counted \(moved) \(method) calls: \(expected) were made while recording, \(unrecordedCalls[method] ?? 0) while paused"
                  + (moved == expected ? "" : "  MISMATCH: the pause did not hold"))
        }
        print("\(scrapes) scrapes answered during the recording windows")
        if let windowLogPath {
            try (windowLog.joined(separator: "\n") + "\n").write(toFile: windowLogPath, atomically: true, encoding: .utf8)
            print("windows written to \(windowLogPath)")
        }
        let (offNanos, onNanos) = Self.recordingCost()
        print("in-process, one thread: recording one finished call (ServiceStatus.record) \(decimals(offNanos, 0)) ns paused, \(decimals(onNanos, 0)) ns recording; "
              + "the store's three timings of a durable put \(decimals(Self.storeTimingCost(), 0)) ns")
        guard exact else { throw ValidationError("the front door's counters do not match the recording windows") }
    }

    /// The front door's `atrest_frontdoor_calls_total` with code OK, by method (one scrape).
    static func frontDoorCalls(_ address: (host: String, port: UInt16)) async throws -> [String: Int] {
        let text = try await scrapeText(address)
        var calls: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("atrest_frontdoor_calls_total{") && line.contains("code=\"OK\"") {
            guard let open = line.range(of: "method=\""), let close = line[open.upperBound...].firstIndex(of: "\""),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            calls[String(line[open.upperBound..<close]), default: 0] += Int(value)
        }
        return calls
    }
}

/// The windows of one figure, by pair, and what the bootstrap needs of them.
struct PairedWindows {
    /// One window: its call latencies in seconds, sorted, and its wall time.
    struct Window {
        var sorted: [Double]
        var wall: Double
    }

    private(set) var off: [Window] = [], on: [Window] = []

    mutating func add(_ measured: Latency, on recording: Bool) {
        let window = Window(sorted: measured.samples.sorted(), wall: measured.wall)
        if recording { on.append(window) } else { off.append(window) }
    }

    /// The p50 of all calls of the picked windows (a pair picked twice counts twice).
    static func pooledMedian(_ windows: [Window], _ picks: [Int]) -> Double {
        let total = picks.reduce(0) { $0 + windows[$1].sorted.count }
        guard total > 0 else { return 0 }
        let rank = total / 2 + 1  // the smallest value with at least `rank` calls at or below it
        var low = picks.map { windows[$0].sorted.first ?? 0 }.min()!, high = picks.map { windows[$0].sorted.last ?? 0 }.max()!
        func atOrBelow(_ value: Double) -> Int {
            picks.reduce(0) { count, pick in
                let sorted = windows[pick].sorted
                var lo = 0, hi = sorted.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if sorted[mid] <= value { lo = mid + 1 } else { hi = mid }
                }
                return count + lo
            }
        }
        while high - low > 1e-8 {  // 10 ns
            let mid = (low + high) / 2
            if atOrBelow(mid) >= rank { high = mid } else { low = mid }
        }
        return high
    }

    static func medianAdded(_ windows: PairedWindows, _ picks: [Int]) -> Double {
        pooledMedian(windows.on, picks) - pooledMedian(windows.off, picks)
    }

    static func throughputCost(_ windows: PairedWindows, _ picks: [Int]) -> Double {
        func rate(_ side: [Window]) -> Double {
            let calls = picks.reduce(0) { $0 + side[$1].sorted.count }, wall = picks.reduce(0.0) { $0 + side[$1].wall }
            return wall > 0 ? Double(calls) / wall : 0
        }
        let offRate = rate(windows.off)
        return offRate > 0 ? 1 - rate(windows.on) / offRate : 0
    }

    /// The statistic over all pairs and its 95% percentile-bootstrap interval
    /// (`resamples` draws of as many pairs as were measured, with replacement).
    func bootstrap(_ statistic: (PairedWindows, [Int]) -> Double, resamples: Int = 2000) -> Estimate {
        let all = Array(on.indices)
        var generator = SystemRandomNumberGenerator()
        let draws = (0..<resamples).map { _ in statistic(self, all.map { _ in Int.random(in: 0..<all.count, using: &generator) }) }.sorted()
        return Estimate(value: statistic(self, all), low: draws[Int(Double(resamples) * 0.025)],
                        high: draws[min(resamples - 1, Int(Double(resamples) * 0.975))], pairs: all.count)
    }

    /// Calls per second of one side over all its windows.
    func rate(on recording: Bool) -> Double {
        let side = recording ? on : off
        return Double(side.reduce(0) { $0 + $1.sorted.count }) / max(side.reduce(0.0) { $0 + $1.wall }, 1e-9)
    }

    /// "p50 X ms, N calls" or "X ops/s" of one side over all its windows.
    func line(on recording: Bool, throughput: Bool) -> String {
        let side = recording ? on : off, all = Array(side.indices)
        if throughput { return "\(decimals(rate(on: recording), 1)) ops/s (n=\(side.reduce(0) { $0 + $1.sorted.count }))" }
        return "p50 \(decimals(Self.pooledMedian(side, all) * 1e6, 1)) µs (n=\(side.reduce(0) { $0 + $1.sorted.count }))"
    }

    struct Estimate {
        var value, low, high: Double
        var pairs: Int

        func summary(scale: Double, unit: String, target: Double) -> String {
            "\(decimals(value * scale, 2))\(unit), 95% interval [\(decimals(low * scale, 2)), \(decimals(high * scale, 2))] (bootstrap over \(pairs) pairs); "
                + "target ≤ \(decimals(target, 0))\(unit): \(EndToEndBench.PairedDifference.verdict(low: low, high: high, target: target / scale))"
        }
    }
}
