import AtRestClient
import AtRestMetrics
import AtRestSockets
import AtRestStatus
import AtRestTesting
import Foundation

/// `atrest-bench e2e --metrics-compare`: what `--metrics-listen` costs. Two
/// clusters of one worker each, identical but for the flag, measured in
/// alternating rounds in the same run (so drift hits both): 4 KiB puts with
/// `--callers` callers (throughput) and with one caller (p50 of a small
/// call), while every service of the metrics cluster is scraped once a second
/// (15× Prometheus' default rate). Targets: ≤ 2% throughput, ≤ 5 µs p50.
extension EndToEndBench {
    func compareMetrics(scratch: String, small: [UInt8], rounds: Int = 5) async throws {
        let off = try await BenchCluster.start(workers: 1, root: "\(scratch)/metrics-off")
        defer { BenchCluster.stop(off.cluster, keepingObjectsIn: "\(scratch)/objects-metrics-off") }
        let on = try await BenchCluster.start(workers: 1, root: "\(scratch)/metrics-on", metrics: true)
        defer { BenchCluster.stop(on.cluster, keepingObjectsIn: "\(scratch)/objects-metrics-on") }
        let addresses = ([on.cluster.identity, on.cluster.vault, on.cluster.frontDoor] + on.cluster.workerProcesses)
            .compactMap { $0.fields["metrics"] }.compactMap { HostPort.parse($0) }
        print("-- metrics off vs on (--metrics-listen on every service, each scraped every 1 s), \(rounds) rounds of \(seconds) s")
        var throughput: [Bool: [Double]] = [false: [], true: []]
        var p50: [Bool: [Double]] = [false: [], true: []]
        var getP50: [Bool: [Double]] = [false: [], true: []]
        for blobs in [off.blobs, on.blobs] {
            for i in 0..<256 { _ = try await blobs.put("bench", "m\(i)", data: small) }
        }
        var scrapes = 0
        for round in 0..<rounds {
            for enabled in round % 2 == 0 ? [false, true] : [true, false] {
                let blobs = enabled ? on.blobs : off.blobs
                let scraper = enabled ? Task { () -> Int in
                    var done = 0
                    while !Task.isCancelled {
                        for address in addresses where (try? await Self.scrape(address)) != nil { done += 1 }
                        try? await Task.sleep(for: .seconds(1))
                    }
                    return done
                } : nil
                let many = try await Latency.measure(seconds: seconds, callers: callers) { i in
                    _ = try await blobs.put("bench", "m\(i % 256)", data: small)
                }
                let one = try await Latency.measure(seconds: seconds, callers: 1) { i in
                    _ = try await blobs.put("bench", "m\(i % 256)", data: small)
                }
                let get = try await Latency.measure(seconds: seconds, callers: 1) { i in
                    _ = try await blobs.get("bench", "m\(i % 256)")
                }
                scraper?.cancel()
                scrapes += await scraper?.value ?? 0
                throughput[enabled]!.append(many.opsPerSecond)
                p50[enabled]!.append(one.p50)
                getP50[enabled]!.append(get.p50)
                let tag = "round \(round + 1) metrics \(enabled ? "on " : "off")"
                print(many.line("\(tag) put 4 KiB, \(callers) callers", bytes: 4096))
                print(one.line("\(tag) put 4 KiB, 1 caller", bytes: 4096))
                print(get.line("\(tag) get 4 KiB, 1 caller", bytes: 4096))
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let cost = 1 - median(throughput[true]!) / median(throughput[false]!)
        let added = (median(getP50[true]!) - median(getP50[false]!)) * 1e6
        let putAdded = (median(p50[true]!) - median(p50[false]!)) * 1e6
        print("metrics cost (medians of \(rounds) rounds): throughput of 4 KiB puts \(decimals(cost * 100, 1))% (target ≤ 2%: \(cost <= 0.02 ? "met" : "MISSED")), "
              + "p50 of a small call (4 KiB get) \(decimals(added, 1)) µs (target ≤ 5 µs: \(added <= 5 ? "met" : "MISSED")), "
              + "p50 of a 4 KiB put \(decimals(putAdded, 1)) µs; \(scrapes) scrapes answered")
        let (offNanos, onNanos) = Self.recordingCost()
        print("recording one finished call in-process (ServiceStatus.record, one thread): \(decimals(offNanos, 0)) ns without metrics, "
              + "\(decimals(onNanos, 0)) ns with (its share of every call on every service)")
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

    /// One GET /metrics; the answer's size.
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
