import ArgumentParser
import AtRestMessaging
import AtRestRuntime
import AtRestWire
import Foundation
import Logging

/// `atrest-bench messaging`: round-trip latency and throughput of a bare
/// libzmq DEALER/ROUTER echo (baseline) against the same echo through the
/// RPC client, the broker and 1 or 2 workers, all on tcp loopback in one
/// run, with the ratio to the baseline.
///
/// Fairness: every party (bare client, bare server, RPC client, broker, each
/// worker) gets its own ZeroMQ context, i.e. its own I/O thread, as separate
/// processes would; both paths send the payload zero-copy and get the
/// received bytes without copying them; both are warmed up; both are
/// measured at 1 call in flight (latency) and at `--in-flight` calls in
/// flight (throughput, with per-call latency too).
struct MessagingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messaging", abstract: "RPC + broker vs bare DEALER/ROUTER: latency p50/p99 and throughput.")

    @Option(help: "Sequential round trips for latency (64 B; 1 MiB uses a tenth).") var latencyCalls = 3000
    @Option(help: "Calls for throughput (64 B; 1 MiB uses a tenth).") var throughputCalls = 20000
    @Option(help: "Calls in flight for throughput.") var inFlight = 32
    @Option(help: "Payload sizes in bytes, comma-separated.") var sizes = "64,1048576"
    @Option(help: "Worker counts for the broker path, comma-separated; 0 is the RPC client and server without a broker.")
    var workers = "0,1,2"
    @Flag(help: "Skip the bare baseline (profiling the broker path).") var skipBare = false
    @Option(help: "Rounds of every case; each printed number is the median over the rounds.") var rounds = 3
    @Option(help: "Transport of the broker/relay-to-worker hop: tcp (workers on any host) or ipc (same host).")
    var workerTransport = "tcp"
    @Flag(help: "Workers start handlers on their loop thread (WorkerConfiguration.runsHandlersInline).")
    var inline = false
    @Option(help: "Modes of the RPC paths, comma-separated: pool (callers on the cooperative pool, handlers as tasks), loop (callers on the client's poll thread, handlers inline).")
    var modes = "pool,loop"

    func run() async throws {
        MemoryTuning.keepLargeBuffers()  // as the front door and the workers do
        print("messaging bench: tcp loopback, echo of the payload both ways, one ZeroMQ context per party"
              + (inline ? ", workers run handlers inline" : ""))
        print("  1 in flight: p50/p99 round trip and calls/s;  \(inFlight) in flight: p50/p99 per call and calls/s")
        print("  load average \(NBDBench.loadAverage()) on \(ProcessInfo.processInfo.activeProcessorCount) cores"
              + " (compare only within one run)")
        print("  targets (issue 19): RPC+broker 64 B p50 ≤ ×1.3 of zmq_proxy, 64 B \(inFlight) in flight ≥ ×0.5 of its"
              + " calls/s, 1 MiB ≥ ×0.95. The zmq_proxy rows are the floor of any relayed path: libzmq alone, same hops")
        for size in sizes.split(separator: ",").compactMap({ Int($0) }) {
            let scale = size > 4096 ? 10 : 1
            let counts = Counts(
                warmUp: max(20, 300 / scale), latency: max(100, latencyCalls / scale),
                throughput: max(200, throughputCalls / scale), inFlight: inFlight)
            let payload = [UInt8](repeating: 0xA5, count: size)
            // Rounds of every case in turn; each number printed is the
            // median over the rounds (this VM's scheduling makes single
            // round trips bimodal, so one run of a case can mislead).
            var bareRuns: [EchoResult] = [], relayRuns: [EchoResult] = []
            var brokerRuns: [String: [EchoResult]] = [:]
            var hopRuns: [Measurement] = []
            let workerCounts = workers.split(separator: ",").compactMap { Int($0) }
            let onLoopModes = modes.split(separator: ",").map { $0 == "loop" }
            for _ in 0..<max(1, rounds) {
                if !skipBare {
                    bareRuns.append(try await BareEcho(payload: payload, counts: counts).run())
                    relayRuns.append(try await BareEcho(
                        payload: payload, counts: counts, relayed: true, workerEndpoint: workerEndpoint("relay")).run())
                    hopRuns.append(try await TaskResumeFloor.measure(calls: counts.latency))
                }
                // The modes alternate within each round (before/after on the same load).
                for count in workerCounts {
                    for onLoop in onLoopModes {
                        brokerRuns["\(count)-\(onLoop)", default: []].append(try await BrokerEcho(
                            payload: payload, workers: count, counts: counts, inline: inline,
                            workerEndpoint: workerEndpoint("broker-\(count)"), onLoop: onLoop).run())
                    }
                }
            }
            let bare = EchoResult.median(bareRuns), relay = EchoResult.median(relayRuns)
            if let bare, let relay {
                report("\(label(size)) bare DEALER/ROUTER", bare, baseline: nil)
                report("\(label(size)) bare via zmq_proxy", relay, baseline: bare)
                let hop = hopRuns.sorted { $0.p50 < $1.p50 }[hopRuns.count / 2]
                print(String(
                    format: "%@ bare Task resume from a thread and back (one Swift pool hop each way): p50 %.1f µs  p99 %.1f µs",
                    label(size), hop.p50, hop.p99))
            }
            for count in workerCounts {
                for onLoop in onLoopModes {
                    guard let rpc = EchoResult.median(brokerRuns["\(count)-\(onLoop)"] ?? []) else { continue }
                    let base = count == 0
                        ? "\(label(size)) RPC direct" : "\(label(size)) RPC+broker \(count)w"
                    let name = base + (onLoop ? " on loop" : " pool")
                    // The direct path has the bare echo's hops: its floor is the bare echo.
                    report(name, rpc, baseline: bare, floor: count == 0 ? nil : relay)
                }
            }
        }
        print("pool: callers on the cooperative pool, handlers started as tasks (the services' default);"
              + " on loop: callers under withTaskExecutorPreference(client.executor), workers run handlers inline")
    }

    private func workerEndpoint(_ name: String) -> String {
        workerTransport == "ipc"
            ? "ipc://\(NSTemporaryDirectory())/atrest-bench-\(getpid())-\(name).sock" : "tcp://127.0.0.1:*"
    }

    private func label(_ size: Int) -> String { size >= 1 << 20 ? "1 MiB" : "\(size) B " }

    /// One line per phase; ratios to the bare echo and, for the broker path,
    /// to the zmq_proxy floor (the same two hops with nothing above libzmq).
    private func report(_ name: String, _ r: EchoResult, baseline: EchoResult?, floor: EchoResult? = nil) {
        let padded = name.padding(toLength: 32, withPad: " ", startingAt: 0)
        let phases = [("1", r.single, baseline?.single, floor?.single), ("N", r.parallel, baseline?.parallel, floor?.parallel)]
        for (mode, m, b, f) in phases {
            var line = String(
                format: "%@ %@  p50 %8.1f µs  p99 %8.1f µs  %8.0f calls/s %8.1f MB/s", padded, mode, m.p50, m.p99,
                m.callsPerSecond, m.callsPerSecond * Double(r.size) * 2 / 1e6)
            if let b {
                line += String(format: "   p50 ×%.2f  throughput ×%.2f", m.p50 / b.p50, m.callsPerSecond / b.callsPerSecond)
            }
            if let f {
                line += String(format: "   (vs proxy: p50 ×%.2f  throughput ×%.2f)", m.p50 / f.p50, m.callsPerSecond / f.callsPerSecond)
            }
            print(line)
        }
    }
}

/// How many calls each phase makes.
struct Counts {
    var warmUp: Int
    var latency: Int
    var throughput: Int
    var inFlight: Int
}

/// One phase's numbers.
struct Measurement {
    var p50: Double  // µs
    var p99: Double
    var callsPerSecond: Double

    init(p50: Double, p99: Double, callsPerSecond: Double) {
        self.p50 = p50
        self.p99 = p99
        self.callsPerSecond = callsPerSecond
    }

    init(samples: [Double], calls: Int, seconds: Double) {
        let sorted = samples.sorted()
        p50 = sorted[sorted.count / 2]
        p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        callsPerSecond = Double(calls) / seconds
    }
}

/// Both phases of one path.
struct EchoResult {
    var size: Int
    var single: Measurement
    var parallel: Measurement

    /// Each number the median of the runs' (nil for no runs).
    static func median(_ runs: [EchoResult]) -> EchoResult? {
        guard let first = runs.first else { return nil }
        func mid(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func combine(_ phase: KeyPath<EchoResult, Measurement>) -> Measurement {
            Measurement(
                p50: mid(runs.map { $0[keyPath: phase].p50 }), p99: mid(runs.map { $0[keyPath: phase].p99 }),
                callsPerSecond: mid(runs.map { $0[keyPath: phase].callsPerSecond }))
        }
        return EchoResult(size: first.size, single: combine(\.single), parallel: combine(\.parallel))
    }
}

/// Microseconds on the monotonic clock.
func benchMicros() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
}

/// (a) A bare ROUTER echo thread and a DEALER client, each on its own
/// context; with `relayed`, libzmq's own proxy (ROUTER→DEALER, a third
/// context) sits between them and the echo is a ROUTER behind it: the floor
/// of any brokered path, two loopback hops each way and nothing above libzmq.
struct BareEcho {
    let payload: [UInt8]
    let counts: Counts
    var relayed = false
    var workerEndpoint = "tcp://127.0.0.1:*"

    func run() async throws -> EchoResult {
        let stop = StopFlag()
        defer { stop.set() }
        let serverContext = ZMQContext()
        let server = try ZMQSocket(.router, context: serverContext)
        var endpoint: String
        var stopRelay: (() -> Void)?
        if relayed {
            let relayContext = ZMQContext()
            let frontend = try ZMQSocket(.router, context: relayContext)
            let backend = try ZMQSocket(.dealer, context: relayContext)
            let control = try ZMQSocket(.pair, context: relayContext)
            let steer = try ZMQSocket(.pair, context: relayContext)
            endpoint = try frontend.bind("tcp://127.0.0.1:*")
            try server.connect(try backend.bind(workerEndpoint))
            _ = try control.bind("inproc://bench-relay-control")
            try steer.connect("inproc://bench-relay-control")
            Thread {
                try? ZMQProxy.run(frontend: frontend, backend: backend, control: control)
                frontend.close(); backend.close(); control.close()
            }.start()
            stopRelay = { try? steer.send([Frame("TERMINATE")]); steer.close() }
        } else {
            endpoint = try server.bind("tcp://127.0.0.1:*")
        }
        defer { stopRelay?() }
        Thread {
            while !stop.isSet {
                guard let frames = try? server.receive(timeoutMs: 100) else { continue }
                try? server.send(frames)  // [identity…][payload] back, frames reused
            }
            server.close()
        }.start()
        let client = try ZMQSocket(.dealer, context: ZMQContext())
        defer { client.close() }
        try client.connect(endpoint)
        // Runs on a plain thread, as the echo server does: a blocking client
        // must not sit on the cooperative pool.
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try measure(client) })
            }.start()
        }
    }

    private func measure(_ client: ZMQSocket) throws -> EchoResult {
        func roundTrip() throws {
            try client.send([Frame(payload)])
            guard try client.receive(timeoutMs: 5000) != nil else { throw ValidationError("bare echo timed out") }
        }
        for _ in 0..<counts.warmUp { try roundTrip() }
        var samples: [Double] = []
        samples.reserveCapacity(counts.latency)
        let singleStart = benchMicros()
        for _ in 0..<counts.latency {
            let start = benchMicros()
            try roundTrip()
            samples.append(benchMicros() - start)
        }
        let single = Measurement(
            samples: samples, calls: counts.latency, seconds: (benchMicros() - singleStart) / 1e6)
        // One server, one connection: replies come back in order, so the
        // send times form a FIFO.
        var sentAt: [Double] = []
        sentAt.reserveCapacity(counts.throughput)
        samples.removeAll(keepingCapacity: true)
        let start = benchMicros()
        while samples.count < counts.throughput {
            while sentAt.count < counts.throughput, sentAt.count - samples.count < counts.inFlight {
                sentAt.append(benchMicros())
                try client.send([Frame(payload)])
            }
            guard try client.receive(timeoutMs: 5000) != nil else { throw ValidationError("bare echo timed out") }
            samples.append(benchMicros() - sentAt[samples.count])
        }
        let parallel = Measurement(samples: samples, calls: counts.throughput, seconds: (benchMicros() - start) / 1e6)
        return EchoResult(size: payload.count, single: single, parallel: parallel)
    }
}

/// (b) RPCClient → Broker → WorkerRuntime(s), each on its own context. The
/// worker echoes the payload frames; the client receives them without
/// copying (as the bare client does).
struct BrokerEcho {
    let payload: [UInt8]
    let workers: Int
    let counts: Counts
    let inline: Bool
    let workerEndpoint: String
    /// Callers run on the client's poll thread (`RPCClient.executor`) and the
    /// workers start handlers inline: no Swift thread-pool hand-off on the path.
    var onLoop = false

    func run() async throws -> EchoResult {
        var router = RPCRouter()
        router.register(EchoMethod.echo.name, EchoRequest.self) {
            (request: EchoRequest, context: RPCContext) async throws -> (EchoReply, [PayloadPart]) in
            (EchoReply(text: request.text, servedBy: ""), context.parts)
        }
        let endpoint: String
        var closers: [() -> Void] = []
        defer { closers.forEach { $0() } }
        if workers == 0 {
            // No broker: the RPC client and server alone, one hop each way.
            var configuration = RPCServerConfiguration(logger: quiet)
            configuration.runsHandlersInline = inline || onLoop
            let server = try RPCServer(
                service: router, endpoint: "tcp://127.0.0.1:*", context: ZMQContext(), configuration: configuration)
            closers.append { server.close() }
            endpoint = server.endpoint
        } else {
            let broker = try Broker(
                clientEndpoint: "tcp://127.0.0.1:*", workerEndpoint: workerEndpoint, context: ZMQContext(),
                configuration: BrokerConfiguration(isIdempotent: { _ in true }, logger: quiet))
            closers.append { broker.close() }
            let runtimes = try (0..<workers).map { i in
                try WorkerRuntime(
                    brokerEndpoint: broker.workerEndpoint, service: router, context: ZMQContext(),
                    configuration: {
                        var configuration = WorkerConfiguration(
                            credit: counts.inFlight, workerID: "bench-\(i)", logger: quiet)
                        configuration.runsHandlersInline = inline || onLoop
                        return configuration
                    }())
            }
            closers.insert({ runtimes.forEach { $0.close() } }, at: 0)
            while await broker.stats().workers < workers { try await Task.sleep(for: .milliseconds(5)) }
            endpoint = broker.clientEndpoint
        }
        let client = try RPCClient(endpoint: endpoint, context: ZMQContext())
        defer { client.close() }
        if onLoop {
            return try await withTaskExecutorPreference(client.executor) { try await measure(client) }
        }
        return try await measure(client)
    }

    private func measure(_ client: RPCClient) async throws -> EchoResult {
        let payload = [PayloadPart(self.payload)]
        let body = EchoRequest(text: "").serialized()
        @Sendable func call() async throws {
            _ = try await client.call(EchoMethod.echo.name, body: body, parts: payload)
        }
        for _ in 0..<counts.warmUp { try await call() }
        var samples: [Double] = []
        samples.reserveCapacity(counts.latency)
        let singleStart = benchMicros()
        for _ in 0..<counts.latency {
            let start = benchMicros()
            try await call()
            samples.append(benchMicros() - start)
        }
        let single = Measurement(samples: samples, calls: counts.latency, seconds: (benchMicros() - singleStart) / 1e6)
        let perTask = counts.throughput / counts.inFlight
        let start = benchMicros()
        let all = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<counts.inFlight {
                group.addTask {
                    var mine: [Double] = []
                    mine.reserveCapacity(perTask)
                    for _ in 0..<perTask {
                        let start = benchMicros()
                        try await call()
                        mine.append(benchMicros() - start)
                    }
                    return mine
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
        let parallel = Measurement(samples: all, calls: all.count, seconds: (benchMicros() - start) / 1e6)
        return EchoResult(size: self.payload.count, single: single, parallel: parallel)
    }

    private var quiet: Logger {
        var logger = Logger(label: "atrest.bench")
        logger.logLevel = .warning
        return logger
    }
}

/// A flag the bench's echo thread polls to stop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// The cost of one hand-off between a plain thread and a task on the
/// cooperative pool, both ways: a task hands a continuation to a thread
/// blocked on a semaphore, the thread resumes it. What a caller pays per
/// call when a poll thread resumes it on the pool.
enum TaskResumeFloor {
    static func measure(calls: Int) async throws -> Measurement {
        final class Mailbox: @unchecked Sendable {
            let ready = DispatchSemaphore(value: 0)
            var continuation: CheckedContinuation<Void, Never>?
            var stop = false
        }
        let mailbox = Mailbox()
        Thread {
            while true {
                mailbox.ready.wait()
                if mailbox.stop { return }
                let continuation = mailbox.continuation
                mailbox.continuation = nil
                continuation?.resume()
            }
        }.start()
        defer { mailbox.stop = true; mailbox.ready.signal() }
        var samples: [Double] = []
        samples.reserveCapacity(calls)
        let start = benchMicros()
        for _ in 0..<(calls + 100) {
            let t0 = benchMicros()
            await withCheckedContinuation { continuation in
                mailbox.continuation = continuation
                mailbox.ready.signal()
            }
            samples.append(benchMicros() - t0)
        }
        return Measurement(samples: Array(samples.dropFirst(100)), calls: calls, seconds: (benchMicros() - start) / 1e6)
    }
}
