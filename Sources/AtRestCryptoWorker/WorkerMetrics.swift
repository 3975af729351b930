import AtRestMetrics
import AtRestStatus
import AtRestStorage
import Glibc
import Prometheus
import Synchronization

/// The worker's figures as Prometheus metrics: the key cache (the counts
/// `atrest status` shows, read at each scrape), its credit, and the store's
/// durable-write timings and group commits (`StorageObservation`).
extension CryptoWorker {
    /// Exports into `metrics` (call once, when `--metrics-listen` is on).
    public func exportMetrics(to metrics: ProcessMetrics = .shared) {
        let keys = self.keys
        let hits = TotalCounter(metrics.counter("key_cache", "hits", help: "Account key look-ups served from the cache."))
        let misses = TotalCounter(metrics.counter("key_cache", "misses", help: "Account key look-ups that unwrapped the key at the vault."))
        let evictions = TotalCounter(metrics.counter("key_cache", "evictions", help: "Cached account keys dropped (key events, re-checks, capacity)."))
        let events = TotalCounter(metrics.counter("key_cache", "events_received", help: "Key events (revocation, disable, rotation) received from the vault."))
        let cached = metrics.gauge("key_cache", "accounts", unit: "", help: "Accounts whose key is cached now.")
        metrics.gauge("worker", "credit", unit: "calls", help: "Calls this worker runs at once (--credit).").set(Double(credit))
        metrics.addCollector {
            hits.update(total: UInt64(await keys.hitCount))
            misses.update(total: UInt64(await keys.unwrapCount))
            evictions.update(total: UInt64(await keys.dropCount))
            events.update(total: UInt64(await keys.eventCount))
            cached.set(Double(await keys.cachedAccounts.count))
        }
        KeyEnforcementMetric.install(metrics, metrics.histogram(
            "key_cache", "enforcement_duration",
            help: "Time from receiving a key event that makes a key unusable (disable, delete, revoke, rotate) to the cached keys being dropped."))
        let buckets = ProcessMetrics.latencyBuckets
        let dataSync = metrics.histogram("store", "fsync_duration", help: "Time of one fsync by the store, by kind (data: a written file; directory: after a rename).",
                                         labels: [("kind", "data")], buckets: buckets)
        let directorySync = metrics.histogram("store", "fsync_duration", help: "Time of one fsync by the store, by kind (data: a written file; directory: after a rename).",
                                              labels: [("kind", "directory")], buckets: buckets)
        let write = metrics.histogram("store", "write_duration", help: "Time of one durable file write of the store (data synced, published, directory synced).",
                                      buckets: buckets)
        let batches = metrics.valueHistogram("store", "group_commit_batches", unit: "", help: "Batches carried by one group commit of a record map.",
                                             buckets: [1, 2, 4, 8, 16, 32, 64, 128])
        let commit = metrics.histogram("store", "group_commit_duration", help: "Time of one group commit of a record map (one transaction, one fsync).",
                                       buckets: buckets)
        StorageObservation.install(StorageObserver(
            fsync: { kind, duration in (kind == "data" ? dataSync : directorySync).record(duration) },
            write: { write.record($0) },
            groupCommit: { count, duration in
                batches.record(Double(count))
                commit.record(duration)
            }))
        metrics.onSwitch { StorageObservation.setActive($0) }
    }

    /// `/readyz`: the vault answers, and the store is reachable (local: the
    /// data directory can be read and written; RADOS: the pools were opened at start).
    public func readiness() async -> [ReadinessCheck] {
        var checks = [await ReadinessCheck.answers("vault", vaultClient)]
        if let localDirectory {
            let usable = access(localDirectory, R_OK | W_OK | X_OK) == 0
            checks.append(ReadinessCheck("storage", ready: usable, detail: usable ? "" : "data directory not accessible"))
        } else {
            checks.append(ReadinessCheck("storage", ready: true, detail: "pools opened at start"))
        }
        return checks
    }
}

/// The enforcement histogram of key events (nil until metrics are exported; nothing recorded while paused).
enum KeyEnforcementMetric {
    private static let installed = Mutex<(metrics: ProcessMetrics, histogram: LatencyHistogram)?>(nil)

    static func install(_ metrics: ProcessMetrics, _ metric: LatencyHistogram) { installed.withLock { $0 = (metrics, metric) } }

    static func record(_ duration: Duration) {
        guard let (metrics, histogram) = installed.withLock({ $0 }), metrics.isEnabled else { return }
        histogram.record(duration)
    }
}
