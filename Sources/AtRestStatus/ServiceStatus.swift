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
    private let calls = Mutex<[String: UInt64]>([:])
    private let extra = Mutex<Figures?>(nil)

    public init(service: String, instance: String = ProcessInfo.processInfo.hostName) {
        self.service = service
        self.instance = instance
    }

    /// Service-specific figures, set once the parts they read exist.
    public func setFigures(_ figures: @escaping Figures) { extra.withLock { $0 = figures } }

    /// Counts one finished call.
    public func record(method: String, code: StatusCode) {
        calls.withLock { $0["\(method) \(code)", default: 0] += 1 }
    }

    /// Calls counted so far, keyed "<method> <STATUS_CODE>".
    public var callCounts: [String: UInt64] { calls.withLock { $0 } }

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

/// VmRSS and VmHWM of this process from /proc/self/status, KiB.
public enum ProcessMemory {
    public static func read(pid: String = "self") -> (rssKiB: UInt64, peakKiB: UInt64) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> UInt64 {
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                return UInt64(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
            }
            return 0
        }
        return (field("VmRSS"), field("VmHWM"))
    }
}
