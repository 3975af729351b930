import AtRestMessaging
import AtRestMetrics
import AtRestStatus
import AtRestWire
import Prometheus
import Synchronization

/// The front door's broker as Prometheus metrics (read at each scrape from
/// `Broker.stats()`, the figures `atrest status` shows) and its readiness.
extension FrontDoor {
    /// Exports the broker's figures into `metrics` (call once, when `--metrics-listen` is on).
    public func exportMetrics(to metrics: ProcessMetrics = .shared) {
        let broker = self.broker
        let workers = metrics.gauge("broker", "workers", unit: "", help: "Crypto workers connected to the front door.")
        let credit = metrics.gauge("broker", "free_credit", unit: "calls", help: "Calls the connected workers can take now (free credit summed).")
        let queued = metrics.gauge("broker", "queue_depth", unit: "calls", help: "Calls waiting for a worker.")
        let inFlight = metrics.gauge("broker", "in_flight", unit: "calls", help: "Calls dispatched to workers and not yet answered.")
        let clients = metrics.gauge("broker", "clients_with_calls", unit: "", help: "Client connections with calls waiting or running.")
        let dropped = TotalCounter(metrics.counter("broker", "replies_dropped", help: "Replies dropped because their client did not read them."))
        let perWorker = Mutex<[String: (inFlight: Gauge, credit: Gauge)]>([:])
        let replies = Mutex<[StatusCode: TotalCounter]>([:])
        metrics.addCollector {
            let stats = await broker.stats()
            workers.set(Double(stats.workers))
            credit.set(Double(stats.freeCredit))
            queued.set(Double(stats.queued))
            inFlight.set(Double(stats.dispatched))
            clients.set(Double(stats.clients))
            dropped.update(total: stats.droppedReplies)
            // Per worker: a worker that left is removed, so names of past workers do not pile up.
            perWorker.withLock { gauges in
                let names = Set(stats.workerDetails.map(\.name))
                for (name, pair) in gauges where !names.contains(name) {
                    metrics.registry.unregisterGauge(pair.inFlight)
                    metrics.registry.unregisterGauge(pair.credit)
                    gauges[name] = nil
                }
                for worker in stats.workerDetails {
                    let pair = gauges[worker.name] ?? (
                        metrics.gauge("broker", "worker_in_flight", unit: "calls", help: "Calls in flight at one worker.",
                                      labels: [("worker", worker.name)]),
                        metrics.gauge("broker", "worker_credit", unit: "calls", help: "Credit one worker announced.",
                                      labels: [("worker", worker.name)]))
                    gauges[worker.name] = pair
                    pair.inFlight.set(Double(worker.inFlight))
                    pair.credit.set(Double(worker.capacity))
                }
            }
            // Replies by status code: the broker's running totals as a counter (only the increase is added).
            for (code, total) in stats.replies {
                let counter = replies.withLock { counters in
                    if let counter = counters[code] { return counter }
                    let counter = TotalCounter(metrics.counter(
                        "broker", "replies", help: "Replies the broker sent to clients for calls served by workers (or failed by the broker), by status code.",
                        labels: [("code", "\(code)")]))
                    counters[code] = counter
                    return counter
                }
                counter.update(total: total)
            }
        }
    }

    /// `/readyz`: at least one worker connected, and the identity service and the vault answer.
    public func readiness() async -> [ReadinessCheck] {
        let workers = await broker.stats().workers
        async let identityCheck = ReadinessCheck.answers("identity", identity)
        async let vaultCheck = ReadinessCheck.answers("vault", vault)
        return [ReadinessCheck("workers", ready: workers >= 1, detail: "\(workers) connected"), await identityCheck, await vaultCheck]
    }
}

extension BrokerConfiguration {
    /// Data calls (served by workers) counted at the front door as
    /// `atrest_frontdoor_*` (by method and code, latency including the
    /// queueing, bytes), once a metrics listener serves them.
    func recordingDataCalls(_ metrics: ProcessMetrics = .shared) -> BrokerConfiguration {
        var configuration = self
        let calls = CallMetrics(metrics: metrics, subsystem: "frontdoor")
        configuration.onWorkerReply = { method, code, nanoseconds, requestBytes, replyBytes in
            guard metrics.isEnabled else { return }
            calls.record(method: method, code: code.description, duration: .nanoseconds(Int64(clamping: nanoseconds)),
                         requestBytes: requestBytes, responseBytes: replyBytes)
        }
        return configuration
    }
}
