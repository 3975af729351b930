import Prometheus
import Synchronization

/// Calls a service finished, by method and status code: a counter, a
/// latency histogram per method, and request/response bytes per method.
/// `StatusService` feeds this and `atrest status` from one place.
///
/// Methods are bounded: a call answered UNIMPLEMENTED (an unknown method a
/// client made up) is counted as method "unknown", and past `maxMethods`
/// distinct methods the rest are "other", so a client cannot grow the label set.
public final class CallMetrics: Sendable {
    public static let maxMethods = 200

    private struct PerMethod: Sendable {
        let duration: DurationHistogram
        let requestBytes: Counter
        let responseBytes: Counter
    }

    private struct State: Sendable {
        var methods: [String: PerMethod] = [:]
        var calls: [String: Counter] = [:]
    }

    private let metrics: ProcessMetrics
    private let subsystem: String
    private let state = Mutex(State())

    /// `subsystem` names the side ("rpc" for calls a service serves).
    public init(metrics: ProcessMetrics = .shared, subsystem: String = "rpc") {
        self.metrics = metrics
        self.subsystem = subsystem
    }

    /// The label a method is counted under (see the type's note).
    public static func methodLabel(_ method: String, unimplemented: Bool, known: Int, isKnown: Bool) -> String {
        if unimplemented { return "unknown" }
        if !isKnown, known >= maxMethods { return "other" }
        return method
    }

    /// Records one finished call; `code` is the gRPC code's name (e.g. "OK").
    public func record(method: String, code: String, duration: Duration, requestBytes: Int, responseBytes: Int) {
        guard metrics.isEnabled else { return }
        let (perMethod, calls) = state.withLock { state -> (PerMethod, Counter) in
            let label = Self.methodLabel(method, unimplemented: code == "UNIMPLEMENTED",
                                         known: state.methods.count, isKnown: state.methods[method] != nil)
            let perMethod: PerMethod
            if let existing = state.methods[label] {
                perMethod = existing
            } else {
                perMethod = PerMethod(
                    duration: metrics.histogram(subsystem, "call_duration", help: "Time to serve a call, by method.",
                                                labels: [("method", label)]),
                    requestBytes: metrics.counter(subsystem, "request", unit: "bytes_total",
                                                  help: "Bytes of requests (body and payload) received, by method.", labels: [("method", label)]),
                    responseBytes: metrics.counter(subsystem, "response", unit: "bytes_total",
                                                   help: "Bytes of replies (body and payload) sent, by method.", labels: [("method", label)]))
                state.methods[label] = perMethod
            }
            let key = label + " " + code
            let calls: Counter
            if let existing = state.calls[key] {
                calls = existing
            } else {
                calls = metrics.counter(subsystem, "calls", help: "Calls finished, by method and status code (gRPC code name).",
                                        labels: [("method", label), ("code", code)])
                state.calls[key] = calls
            }
            return (perMethod, calls)
        }
        calls.increment()
        perMethod.duration.record(duration)
        if requestBytes > 0 { perMethod.requestBytes.increment(by: Int64(requestBytes)) }
        if responseBytes > 0 { perMethod.responseBytes.increment(by: Int64(responseBytes)) }
    }
}
