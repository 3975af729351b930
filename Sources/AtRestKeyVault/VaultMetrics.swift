import AtRestMetrics
import Prometheus
import Synchronization

/// Key operations of the vault as Prometheus metrics: every audited
/// operation (wrap, unwrap, key management, ...) by operation, provider and
/// result ("ok" or the error code: PERMISSION_DENIED, FAILED_PRECONDITION
/// for a disabled or revoked key, ...). The provider label is a loaded
/// provider's name or "other" (a caller may name any provider); no key id,
/// tenant or account is a label. Off until `export` is called, and while
/// recording is paused (`ProcessMetrics.isEnabled`).
enum VaultMetrics {
    private struct State: Sendable {
        var metrics: ProcessMetrics
        var counters: [String: Counter] = [:]
    }

    private static let state = Mutex<State?>(nil)

    static func export(to metrics: ProcessMetrics) {
        state.withLock { $0 = State(metrics: metrics) }
    }

    static func record(operation: String, provider: String, result: String) {
        let counter = state.withLock { state -> Counter? in
            guard state != nil, state!.metrics.isEnabled else { return nil }
            let key = "\(operation) \(provider) \(result)"
            if let counter = state!.counters[key] { return counter }
            let counter = state!.metrics.counter(
                "vault", "operations", help: "Key operations of the vault by operation, provider and result (ok or the error code).",
                labels: [("operation", operation), ("provider", provider), ("result", result)])
            state!.counters[key] = counter
            return counter
        }
        counter?.increment()
    }
}

extension KeyVault {
    /// Exports the vault's key operations into `metrics` (when `--metrics-listen` is on).
    public func exportMetrics(to metrics: ProcessMetrics = .shared) {
        VaultMetrics.export(to: metrics)
        let loaded = metrics.gauge("vault", "providers_available", unit: "", help: "Key providers loaded and available.")
        let providerStatus = self.providerStatus
        loaded.set(Double(providerStatus.values.filter { $0 == nil }.count))
    }

    /// `/readyz`: every configured provider loaded and available; the audit
    /// log verified (the vault does not start when it does not verify).
    public func readiness() -> [ReadinessCheck] {
        var checks = providerStatus.sorted { $0.key < $1.key }.map { name, reason in
            ReadinessCheck("provider \(name)", ready: reason == nil, detail: reason == nil ? "" : "unavailable")
        }
        checks.append(ReadinessCheck("audit log", ready: true, detail: "verified at start"))
        return checks
    }

    /// The provider label of `name`: a loaded provider, else "other".
    func providerLabel(_ name: String) -> String { providers[name] != nil ? name : "other" }
}
