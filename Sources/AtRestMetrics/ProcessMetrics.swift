import CoreMetrics
import Prometheus
import Synchronization

/// This process's metrics: one Prometheus registry (swift-prometheus) that
/// every part records into, and `collectors` that set the gauges read from
/// live state (broker, key cache, memory) just before each scrape, so nothing
/// is sampled in the background (docs/OPERATIONS.md "Metrics and health").
///
/// Names are `atrest_<subsystem>_<name>_<unit>`; labels are bounded (method,
/// status code, provider, worker name), never an account, blob, share or token.
public final class ProcessMetrics: Sendable {
    /// The process's registry: what `--metrics-listen` serves.
    public static let shared = ProcessMetrics()

    public let registry = PrometheusCollectorRegistry()
    private let collectors = Mutex<[@Sendable () async -> Void]>([])
    private let bootstrapped = Atomic<Bool>(false)
    private let enabled = Atomic<Bool>(false)
    private let switches = Mutex<[@Sendable (Bool) -> Void]>([])
    /// `LatencyHistogram` families by name, in the order made, rendered after the registry.
    private let latencyFamilies = Mutex<[(name: String, help: String, series: [LatencyHistogram])]>([])

    public init() {}

    /// Whether anything reads these metrics (a `MetricsServer` serves them, or
    /// a test asked) and recording is not paused: recorders that run per call
    /// (`CallMetrics`, the store's timings, the vault's operations) do nothing
    /// otherwise, so a service without `--metrics-listen` pays one atomic load.
    public var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Starts recording (a listener serves the metrics, or SIGUSR2 resumed them).
    public func enable() { set(recording: true) }

    /// Stops recording: counters and histograms keep what they hold and
    /// /metrics still answers (SIGUSR1, `MetricsServer`).
    public func disable() { set(recording: false) }

    /// Adds a function told when recording starts or stops, for a recorder
    /// that is not gated by `isEnabled` on its own (the store's observer).
    public func onSwitch(_ handler: @escaping @Sendable (_ recording: Bool) -> Void) {
        switches.withLock { $0.append(handler) }
    }

    private func set(recording: Bool) {
        guard enabled.exchange(recording, ordering: .relaxed) != recording else { return }
        for handler in switches.withLock({ $0 }) { handler(recording) }
    }

    /// Adds a function that refreshes gauges from live state before each scrape.
    public func addCollector(_ collect: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// The registry in the Prometheus text format 0.0.4, collectors run first.
    public func exposition() async -> [UInt8] {
        for collect in collectors.withLock({ $0 }) { await collect() }
        var buffer = registry.emitToBuffer()
        for family in latencyFamilies.withLock({ $0 }) {
            buffer.append(contentsOf: "# HELP \(family.name) \(LatencyHistogram.escaped(family.help, quotes: false))\n# TYPE \(family.name) histogram\n".utf8)
            for series in family.series { series.emit(name: family.name, into: &buffer) }
        }
        return buffer
    }

    /// Makes swift-metrics' `MetricsSystem` record into this registry (once per
    /// process; later calls do nothing), so libraries using swift-metrics show up too.
    public func bootstrapMetricsSystem() {
        guard !bootstrapped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    // MARK: Makers with help text (the descriptor API of swift-prometheus)

    public func counter(_ subsystem: String, _ name: String, unit: String = "total", help: String,
                        labels: [(String, String)] = []) -> Prometheus.Counter {
        let descriptor = MetricNameDescriptor(namespace: "atrest", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
        return labels.isEmpty ? registry.makeCounter(descriptor: descriptor) : registry.makeCounter(descriptor: descriptor, labels: labels)
    }

    public func gauge(_ subsystem: String, _ name: String, unit: String, help: String, labels: [(String, String)] = []) -> Prometheus.Gauge {
        let descriptor = MetricNameDescriptor(namespace: "atrest", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
        return labels.isEmpty ? registry.makeGauge(descriptor: descriptor) : registry.makeGauge(descriptor: descriptor, labels: labels)
    }

    /// A duration histogram (`LatencyHistogram`: lock-free records); the
    /// same name and labels give the same histogram, as the registry's makers do.
    public func histogram(_ subsystem: String, _ name: String, unit: String = "seconds", help: String,
                          labels: [(String, String)] = [], buckets: [Duration] = ProcessMetrics.latencyBuckets) -> LatencyHistogram {
        let name = MetricNameDescriptor(namespace: "atrest", subsystem: subsystem, metricName: name, unitName: unit, helpText: help).name
        let rendered = LatencyHistogram.render(labels)
        return latencyFamilies.withLock { families in
            let index = families.firstIndex { $0.name == name } ?? {
                families.append((name, help, []))
                return families.count - 1
            }()
            if let existing = families[index].series.first(where: { $0.renderedLabels == rendered }) { return existing }
            let made = LatencyHistogram(buckets: buckets, labels: labels)
            families[index].series.append(made)
            return made
        }
    }

    public func valueHistogram(_ subsystem: String, _ name: String, unit: String, help: String, buckets: [Double]) -> ValueHistogram {
        let descriptor = MetricNameDescriptor(namespace: "atrest", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
        return registry.makeValueHistogram(descriptor: descriptor, buckets: buckets)
    }

    /// 50 µs to 10 s: a small call on loopback to a slow fsync on a busy disk.
    public static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]
}
