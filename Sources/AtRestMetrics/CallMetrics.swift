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
/// metrics are made once (`Figures`, cached by label) and hold their call
/// counters by status code in a short list, so a call builds no label
/// array and no string (docs/ARCHITECTURE.md "Metrics").
public final class CallMetrics: Sendable {
    public static let maxMethods = 200

    /// One method label's metrics, resolved once.
    final class Figures: Sendable {
        let label: String
        let duration: DurationHistogram
        let requestBytes: Counter
        let responseBytes: Counter

        init(label: String, duration: DurationHistogram, requestBytes: Counter, responseBytes: Counter) {
            self.label = label
            self.duration = duration
            self.requestBytes = requestBytes
            self.responseBytes = responseBytes
        }
    }

    /// A method label's figures and its call counters by code name (a few
    /// codes per method: a list scanned in order beats hashing the name).
    struct Entry: Sendable {
        let figures: Figures
        var calls: [(code: String, counter: Counter)] = []

        func counter(_ code: String) -> Counter? {
            for call in calls where call.code == code { return call.counter }
            return nil
        }
    }

    private let metrics: ProcessMetrics
    private let subsystem: String
    private let entries = Mutex<[String: Entry]>([:])

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

    /// Records one finished call; `code` is the gRPC code's name (e.g. "OK",
    /// `StatusCode.description`).
    public func record(method: String, code: String, duration: Duration, requestBytes: Int, responseBytes: Int) {
        guard metrics.isEnabled else { return }
        let (figures, calls) = handles(method: method, code: code)
        calls.increment()
        figures.duration.record(duration)
        if requestBytes > 0 { figures.requestBytes.increment(by: Int64(requestBytes)) }
        if responseBytes > 0 { figures.responseBytes.increment(by: Int64(responseBytes)) }
    }

    /// The metrics a call of `method` answered `code` is counted in: found
    /// with one look-up once both were seen, made (and cached) otherwise.
    func handles(method: String, code: String) -> (Figures, Counter) {
        let unimplemented = code == "UNIMPLEMENTED"
        return entries.withLock { entries in
            if !unimplemented, let entry = entries[method], let counter = entry.counter(code) {
                return (entry.figures, counter)
            }
            let label = Self.methodLabel(method, unimplemented: unimplemented, known: entries.count, isKnown: entries[method] != nil)
            var entry = entries[label] ?? Entry(figures: makeFigures(label))
            if let counter = entry.counter(code) { return (entry.figures, counter) }
            let counter = metrics.counter(subsystem, "calls", help: "Calls finished, by method and status code (gRPC code name).",
                                          labels: [("method", label), ("code", code)])
            entry.calls.append((code, counter))
            entries[label] = entry
            return (entry.figures, counter)
        }
    }

    private func makeFigures(_ label: String) -> Figures {
        Figures(
            label: label,
            duration: metrics.histogram(subsystem, "call_duration", help: "Time to serve a call, by method.", labels: [("method", label)]),
            requestBytes: metrics.counter(subsystem, "request", unit: "bytes_total",
                                          help: "Bytes of requests (body and payload) received, by method.", labels: [("method", label)]),
            responseBytes: metrics.counter(subsystem, "response", unit: "bytes_total",
                                           help: "Bytes of replies (body and payload) sent, by method.", labels: [("method", label)]))
    }
}
