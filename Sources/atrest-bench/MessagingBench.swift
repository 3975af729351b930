import ArgumentParser
import AtRestMessaging
import AtRestWire
import Foundation
import Logging

/// `atrest-bench messaging`: round-trip latency and throughput of a bare
/// libzmq DEALER/ROUTER echo (baseline) against the same echo through the
/// RPC client, the broker and 1 or 2 workers, all on tcp loopback in one
/// run, with the ratio to the baseline.
struct MessagingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messaging", abstract: "RPC + broker vs bare DEALER/ROUTER: latency p50/p99 and throughput.")

    @Option(help: "Sequential round trips for latency (64 B; 1 MiB uses a tenth).") var latencyCalls = 3000
    @Option(help: "Calls for throughput (64 B; 1 MiB uses a tenth).") var throughputCalls = 20000
    @Option(help: "Calls in flight for throughput.") var inFlight = 32

    struct Result {
        var p50: Double  // µs
        var p99: Double
        var callsPerSecond: Double
        var bytesPerSecond: Double
    }

    func run() async throws {
        print("messaging bench: tcp loopback, echo of the payload both ways")
        for size in [64, 1 << 20] {
            let scale = size > 4096 ? 10 : 1
            let latency = max(100, latencyCalls / scale)
            let throughput = max(200, throughputCalls / scale)
            let payload = [UInt8](repeating: 0xA5, count: size)
            let bare = try await bareEcho(payload: payload, latencyCalls: latency, throughputCalls: throughput)
            report("\(label(size)) bare DEALER/ROUTER", bare, baseline: nil)
            for workers in [1, 2] {
                let rpc = try await brokerEcho(
                    payload: payload, workers: workers, latencyCalls: latency, throughputCalls: throughput)
                report("\(label(size)) RPC+broker, \(workers) worker\(workers > 1 ? "s" : " ")", rpc, baseline: bare)
            }
        }
    }

    private func label(_ size: Int) -> String { size >= 1 << 20 ? "1 MiB" : "\(size) B " }

    private func report(_ name: String, _ r: Result, baseline: Result?) {
        var line = String(
            format: "%@  p50 %8.1f µs  p99 %8.1f µs  %9.0f calls/s  %8.1f MB/s",
            name.padding(toLength: 30, withPad: " ", startingAt: 0), r.p50, r.p99, r.callsPerSecond,
            r.bytesPerSecond / 1e6)
        if let b = baseline {
            line += String(format: "   p50 ×%.2f  throughput ×%.2f", r.p50 / b.p50, r.callsPerSecond / b.callsPerSecond)
        }
        print(line)
    }

    // MARK: (a) bare libzmq

    private func bareEcho(payload: [UInt8], latencyCalls: Int, throughputCalls: Int) async throws -> Result {
        let server = try ZMQSocket(.router)
        let endpoint = try server.bind("tcp://127.0.0.1:*")
        let stop = StopFlag()
        let thread = Thread {
            while !stop.isSet {
                guard let frames = try? server.receive(timeoutMs: 100) else { continue }
                try? server.send(frames)  // [identity][payload] back, frames reused
            }
            server.close()
        }
        thread.start()
        defer { stop.set() }
        let client = try ZMQSocket(.dealer)
        try client.connect(endpoint)
        var samples: [Double] = []
        samples.reserveCapacity(latencyCalls)
        for _ in 0..<latencyCalls {
            let start = monotonic()
            try client.send([Frame(payload)])
            guard try client.receive(timeoutMs: 5000) != nil else { throw ValidationError("bare echo timed out") }
            samples.append(monotonic() - start)
        }
        let start = monotonic()
        var sent = 0
        var received = 0
        while received < throughputCalls {
            while sent < throughputCalls, sent - received < inFlight {
                try client.send([Frame(payload)])
                sent += 1
            }
            guard try client.receive(timeoutMs: 5000) != nil else { throw ValidationError("bare echo timed out") }
            received += 1
        }
        let seconds = (monotonic() - start) / 1e6
        return summarize(samples, calls: throughputCalls, seconds: seconds, size: payload.count)
    }

    // MARK: (b) RPC + broker + workers

    private func brokerEcho(payload: [UInt8], workers count: Int, latencyCalls: Int, throughputCalls: Int)
        async throws -> Result
    {
        let broker = try Broker(clientEndpoint: "tcp://127.0.0.1:*", workerEndpoint: "tcp://127.0.0.1:*",
                                configuration: BrokerConfiguration(isIdempotent: { _ in true }, logger: quiet))
        defer { broker.close() }
        var router = RPCRouter()
        router.register("atrest.v1.Echo/Echo", EchoRequest.self) {
            (request: EchoRequest, context: RPCContext) async throws -> (EchoReply, [[UInt8]]) in
            (EchoReply(text: request.text, servedBy: ""), context.payload)
        }
        let runtimes = try (0..<count).map { i in
            try WorkerRuntime(
                brokerEndpoint: broker.workerEndpoint, service: router,
                configuration: WorkerConfiguration(credit: inFlight, workerID: "bench-\(i)", logger: quiet))
        }
        defer { runtimes.forEach { $0.close() } }
        while await broker.stats().workers < count { try await Task.sleep(for: .milliseconds(5)) }
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        let request = EchoRequest(text: "")
        var samples: [Double] = []
        samples.reserveCapacity(latencyCalls)
        for _ in 0..<latencyCalls {
            let start = monotonic()
            _ = try await client.call("atrest.v1.Echo/Echo", request: request, as: EchoReply.self, payload: [payload])
            samples.append(monotonic() - start)
        }
        let start = monotonic()
        let perTask = throughputCalls / inFlight
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<inFlight {
                group.addTask {
                    for _ in 0..<perTask {
                        _ = try await client.call(
                            "atrest.v1.Echo/Echo", request: request, as: EchoReply.self, payload: [payload])
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (monotonic() - start) / 1e6
        return summarize(samples, calls: perTask * inFlight, seconds: seconds, size: payload.count)
    }

    // MARK: helpers

    private var quiet: Logger {
        var logger = Logger(label: "atrest.bench")
        logger.logLevel = .warning
        return logger
    }

    private func summarize(_ samples: [Double], calls: Int, seconds: Double, size: Int) -> Result {
        let sorted = samples.sorted()
        let p50 = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        let rate = Double(calls) / seconds
        return Result(p50: p50, p99: p99, callsPerSecond: rate, bytesPerSecond: rate * Double(size) * 2)
    }

    /// Microseconds on the monotonic clock.
    private func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
    }
}

/// A flag the bench's echo thread polls to stop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
