import AtRestMetrics
import AtRestWire
import Foundation
import Synchronization

/// What one service tells `atrest.v1.Status/Get`: its name, version, uptime,
/// memory, calls by method and status code (counted by `StatusService`), and
/// service-specific figures from `figures` (asked for at each status call,
/// so nothing is sampled in the background).
public final class ServiceStatus: Sendable {
    public typealias Figures = @Sendable () async -> (figures: [StatusFigure], workers: [StatusWorker])

    public let service: String
    public let instance: String
    private let started = monotonicNanos()
    /// A method's calls by status code (`StatusCode.rawValue`), and its
    /// metrics recorder once metrics are read: one look-up per call.
    private struct MethodCalls {
        var counts = [UInt64](repeating: 0, count: StatusCode.allCases.count)
        var recorder: CallMetrics.Recorder?
    }

    private let calls = Mutex<[String: MethodCalls]>([:])
    private let extra = Mutex<Figures?>(nil)

    public init(service: String, instance: String = ProcessInfo.processInfo.hostName, callMetrics: CallMetrics = CallMetrics()) {
        self.service = service
        self.instance = instance
        self.callMetrics = callMetrics
    }

    /// Service-specific figures, set once the parts they read exist.
    public func setFigures(_ figures: @escaping Figures) { extra.withLock { $0 = figures } }

    /// The same calls as Prometheus metrics (`--metrics-listen`).
    public let callMetrics: CallMetrics

    /// Counts one finished call, for `atrest status` and for /metrics alike.
    public func record(method: String, code: StatusCode, duration: Duration = .zero, requestBytes: Int = 0, responseBytes: Int = 0) {
        let callMetrics = self.callMetrics
        // An UNIMPLEMENTED call is "unknown" in the metrics: never through the method's recorder.
        let cached = callMetrics.isEnabled && code != .unimplemented
        let recorder = calls.withLock { calls -> CallMetrics.Recorder? in
            guard let index = calls.index(forKey: method) else {
                var entry = MethodCalls()
                entry.counts[Int(code.rawValue)] = 1
                if cached { entry.recorder = callMetrics.recorder(method: method) }
                calls[method] = entry
                return entry.recorder
            }
            calls.values[index].counts[Int(code.rawValue)] += 1
            guard cached else { return nil }
            if let recorder = calls.values[index].recorder { return recorder }
            let recorder = callMetrics.recorder(method: method)
            calls.values[index].recorder = recorder
            return recorder
        }
        if let recorder {
            recorder.record(code: code.description, duration: duration, requestBytes: requestBytes, responseBytes: responseBytes)
        } else {
            callMetrics.record(method: method, code: code.description, duration: duration, requestBytes: requestBytes, responseBytes: responseBytes)
        }
    }

    /// Calls counted so far, keyed "<method> <STATUS_CODE>".
    public var callCounts: [String: UInt64] {
        var counts: [String: UInt64] = [:]
        for (method, entry) in calls.withLock({ $0 }) {
            for (raw, count) in entry.counts.enumerated() where count > 0 {
                counts["\(method) \(StatusCode(rawValue: Int32(raw)) ?? .unknown)"] = count
            }
        }
        return counts
    }

    public func snapshot() async -> StatusReply {
        var figures = callCounts.sorted { $0.key < $1.key }.map { StatusFigure("calls", label: $0.key, $0.value) }
        var errors: [String: UInt64] = [:]
        for (key, value) in callCounts {
            let code = String(key.split(separator: " ").last ?? "")
            if code != "OK" { errors[code, default: 0] += value }
        }
        figures += errors.sorted { $0.key < $1.key }.map { StatusFigure("errors", label: $0.key, $0.value) }
        var workers: [StatusWorker] = []
        if let extra = extra.withLock({ $0 }) {
            let more = await extra()
            // The same figure from two sources (e.g. errors counted locally
            // and by the broker) is one line with the sum.
            for figure in more.figures {
                if let index = figures.firstIndex(where: { $0.name == figure.name && $0.label == figure.label }) {
                    figures[index].value += figure.value
                } else {
                    figures.append(figure)
                }
            }
            workers = more.workers
        }
        let memory = ProcessMemory.read()
        return StatusReply(service: service, version: AtRestVersion.current, instance: instance,
                           uptimeMs: (monotonicNanos() - started) / 1_000_000,
                           rssKiB: memory.rssKiB, peakRssKiB: memory.peakKiB, figures: figures, workers: workers)
    }
}

/// The release every executable reports (`atrest status`, `--version`).
public enum AtRestVersion {
    public static let current = "0.1.0"
}

/// VmRSS and VmHWM of a process (moved to AtRestMetrics, which exports them too).
public typealias ProcessMemory = AtRestMetrics.ProcessMemory
