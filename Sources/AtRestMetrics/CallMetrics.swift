import Prometheus
import Synchronization

/// Calls a service finished, by method and status code: a counter, a
/// latency histogram per method, and request/response bytes per method.
/// `StatusService` feeds this and `atrest status` from one place.
///
/// Methods are bounded: a call answered UNIMPLEMENTED (an unknown method a
/// client made up) is counted as method "unknown", and past `maxMethods`
/// distinct methods the rest are "other", so a client cannot grow the label set.
///
/// Recording is one dictionary look-up per call: each method label's
/// metrics are made once (a `Recorder`, cached by label) and hold their call
/// counters by status code in a short list, so a call builds no label array
/// and no string. A caller with its own table by method (`ServiceStatus`)
/// keeps the method's `Recorder` there and records through it with no
/// look-up here at all (docs/ARCHITECTURE.md "Metrics").
public final class CallMetrics: Sendable {
    public static let maxMethods = 200

    /// One method label's metrics, made once: its latency histogram, byte
    /// counters, and call counters by code name (a few codes per method: a
    /// list scanned in order beats hashing the name).
    public final class Recorder: Sendable {
        let label: String
        let duration: LatencyHistogram
        let requestBytes: Counter
        let responseBytes: Counter
        private let metrics: ProcessMetrics
        private let subsystem: String
        private let calls = Mutex<[(code: String, counter: Counter)]>([])

        init(label: String, metrics: ProcessMetrics, subsystem: String) {
            self.label = label
            self.metrics = metrics
            self.subsystem = subsystem
            duration = metrics.histogram(subsystem, "call_duration", help: "Time to serve a call, by method.", labels: [("method", label)])
            requestBytes = metrics.counter(subsystem, "request", unit: "bytes_total",
                                           help: "Bytes of requests (body and payload) received, by method.", labels: [("method", label)])
            responseBytes = metrics.counter(subsystem, "response", unit: "bytes_total",
                                            help: "Bytes of replies (body and payload) sent, by method.", labels: [("method", label)])
        }

        /// The counter of calls answered `code` (made on its first call).
        func counter(_ code: String) -> Counter {
            calls.withLock { calls in
                for call in calls where call.code == code { return call.counter }
                let counter = metrics.counter(subsystem, "calls", help: "Calls finished, by method and status code (gRPC code name).",
                                              labels: [("method", label), ("code", code)])
                calls.append((code, counter))
                return counter
            }
        }

        /// Records one finished call of this method. A call answered
        /// UNIMPLEMENTED goes through `CallMetrics.record` (it is "unknown").
        public func record(code: String, duration: Duration, requestBytes: Int, responseBytes: Int) {
            counter(code).increment()
            self.duration.record(duration)
            if requestBytes > 0 { self.requestBytes.increment(by: Int64(requestBytes)) }
            if responseBytes > 0 { self.responseBytes.increment(by: Int64(responseBytes)) }
        }
    }

    private let metrics: ProcessMetrics
    private let subsystem: String
    private let recorders = Mutex<[String: Recorder]>([:])

    /// `subsystem` names the side ("rpc" for calls a service serves).
    public init(metrics: ProcessMetrics = .shared, subsystem: String = "rpc") {
        self.metrics = metrics
        self.subsystem = subsystem
    }

    /// Whether anything reads the metrics (see `ProcessMetrics.isEnabled`).
    public var isEnabled: Bool { metrics.isEnabled }

    /// The label a method is counted under (see the type's note).
    public static func methodLabel(_ method: String, unimplemented: Bool, known: Int, isKnown: Bool) -> String {
        if unimplemented { return "unknown" }
        if !isKnown, known >= maxMethods { return "other" }
        return method
    }

    /// Records one finished call; `code` is the gRPC code's name (e.g. "OK",
    /// `StatusCode.description`).
    public func record(method: String, code: String, duration: Duration, requestBytes: Int, responseBytes: Int) {
        guard metrics.isEnabled else { return }
        recorder(method: method, unimplemented: code == "UNIMPLEMENTED")
            .record(code: code, duration: duration, requestBytes: requestBytes, responseBytes: responseBytes)
    }

    /// The recorder of `method`'s calls (its label's: "unknown" for a call
    /// answered UNIMPLEMENTED, "other" for a new method past the cap); made
    /// once per label. Callers that keep it record with no look-up.
    public func recorder(method: String, unimplemented: Bool = false) -> Recorder {
        recorders.withLock { recorders in
            if !unimplemented, let recorder = recorders[method] { return recorder }
            let label = Self.methodLabel(method, unimplemented: unimplemented, known: recorders.count, isKnown: recorders[method] != nil)
            if let recorder = recorders[label] { return recorder }
            let recorder = Recorder(label: label, metrics: metrics, subsystem: subsystem)
            recorders[label] = recorder
            return recorder
        }
    }

    /// The recorder and call counter a call of `method` answered `code` is counted in.
    func handles(method: String, code: String) -> (Recorder, Counter) {
        let recorder = recorder(method: method, unimplemented: code == "UNIMPLEMENTED")
        return (recorder, recorder.counter(code))
    }
}
