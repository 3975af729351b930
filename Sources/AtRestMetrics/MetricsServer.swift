import AtRestSockets
import Glibc
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The `--metrics-listen` endpoint: a minimal HTTP/1.1 responder on
/// AtRestSockets' listener, run as a ServiceLifecycle service.
///
/// Serves `GET /metrics` (Prometheus text 0.0.4), `GET /healthz` (the
/// process is up) and `GET /readyz` (`readiness`); anything else gets 404,
/// other methods 405, bad requests 400 and heads over 8 KiB 431. One request
/// per connection (`Connection: close`). A client cannot hold the service:
/// at most `maxConnections` are served at once (more are closed when
/// accepted), and each has `requestTimeout` to send its head and read the answer.
///
/// While it runs, SIGUSR1 pauses the recording of metrics and SIGUSR2
/// resumes it (`ProcessMetrics.disable`/`enable`): what is counted stays and
/// /metrics still answers, with `atrest_metrics_recording` 0. An operator can
/// stop the per-call cost without a restart; `atrest-bench e2e
/// --metrics-toggle` uses it to measure that cost within one set of
/// processes (docs/OPERATIONS.md "Signals", docs/BENCHMARKS.md).
public final class MetricsServer: Service, Sendable {
    public static let maxConnections = 4
    public static let requestTimeoutSeconds = 5

    private let listener: TCPListener
    private let metrics: ProcessMetrics
    private let readiness: Readiness
    private let logger: Logger
    private let connections = Mutex<[ObjectIdentifier: TCPConnection]>([:])
    private let stopping = Atomic<Bool>(false)

    /// Binds at once (a bad or busy address fails start-up); serves from `run`.
    public init(host: String, port: UInt16, metrics: ProcessMetrics = .shared, readiness: @escaping Readiness,
                logger: Logger) throws {
        listener = try TCPListener(host: host, port: port, backlog: 16)
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
        metrics.enable()
        metrics.bootstrapMetricsSystem()
        ProcessCollector.register(on: metrics)
        let recording = metrics.gauge("metrics", "recording", unit: "", help: "1 while metrics are recorded, 0 while paused (SIGUSR1 pauses, SIGUSR2 resumes).")
        metrics.addCollector { [metrics] in recording.set(Double(metrics.isEnabled ? 1 : 0)) }
    }

    /// "host:port" bound (the port chosen when 0 was asked for); IPv6 in brackets.
    public var address: String { HostPort.format(host: listener.host, port: listener.port) }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigusr1, .sigusr2)
        await withTaskGroup(of: Void.self) { switching in
            switching.addTask { await self.follow(signals) }
            await serve()
            switching.cancelAll()
        }
    }

    /// SIGUSR1 pauses recording, SIGUSR2 resumes it, until cancelled.
    private func follow(_ signals: UnixSignalsSequence) async {
        for await signal in signals {
            let recording = signal == .sigusr2
            guard recording != metrics.isEnabled else { continue }
            if recording { metrics.enable() } else { metrics.disable() }
            logger.notice(recording ? "metrics recording resumed (SIGUSR2)" : "metrics recording paused (SIGUSR1; SIGUSR2 resumes)")
        }
    }

    private func serve() async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while true {
                    let connection: TCPConnection
                    do {
                        connection = try await listener.accept()
                    } catch let failure as SocketError where failure.kind == .closed {
                        break
                    } catch {
                        logger.warning("metrics listener: accept failed", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: .milliseconds(100))
                        continue
                    }
                    let id = ObjectIdentifier(connection)
                    let admitted = connections.withLock { open -> Bool in
                        guard open.count < Self.maxConnections, !stopping.load(ordering: .acquiring) else { return false }
                        open[id] = connection
                        return true
                    }
                    guard admitted else {
                        connection.close()
                        continue
                    }
                    group.addTask {
                        await self.serve(connection)
                        connection.close()
                        _ = self.connections.withLock { $0.removeValue(forKey: id) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            self.listener.close()
            for connection in self.connections.withLock({ Array($0.values) }) { connection.close() }
        }
    }

    private func serve(_ connection: TCPConnection) async {
        connection.setTimeouts(seconds: Self.requestTimeoutSeconds)
        let deadline = ContinuousClock.now + .seconds(Self.requestTimeoutSeconds)
        var head: [UInt8] = []
        var response: HTTPResponse
        var withBody = true
        reading: while true {
            guard ContinuousClock.now < deadline else {
                response = HTTPResponse(status: 408, text: "request head not received in time\n")
                break
            }
            do {
                head += try await connection.readSome(maxCount: 4096)
            } catch let failure as SocketError where failure.kind == .system(EAGAIN) {
                response = HTTPResponse(status: 408, text: "request head not received in time\n")
                break
            } catch {
                return  // the client went away
            }
            switch HTTPHead.parse(head) {
            case .incomplete:
                continue
            case .malformed(let why):
                response = HTTPResponse(status: head.count > HTTPHead.maxHeadBytes ? 431 : 400, text: "bad request: \(why)\n")
                break reading
            case .request(let method, let path):
                withBody = method != "HEAD"
                response = await respond(method: method, path: path)
                break reading
            }
        }
        if !withBody {
            // HEAD: the headers GET would send, without the body.
            let full = response.bytes
            try? await connection.writeAll(Array(full[..<(full.count - response.body.count)]))
        } else {
            try? await connection.writeAll(response.bytes)
        }
    }

    func respond(method: String, path: String) async -> HTTPResponse {
        guard method == "GET" || method == "HEAD" else { return HTTPResponse(status: 405, text: "only GET is served\n") }
        switch path {
        case "/metrics":
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: await metrics.exposition())
        case "/healthz":
            return HTTPResponse(status: 200, text: "ok\n")
        case "/readyz":
            return ReadinessCheck.response(await readiness())
        default:
            return HTTPResponse(status: 404, text: "not found (served: /metrics, /healthz, /readyz)\n")
        }
    }
}
