import Glibc
import Synchronization

/// Process figures every service exports: resident memory, its peak, and
/// the start time (what Prometheus' own clients call process_*).
enum ProcessCollector {
    private static let registered = Mutex<Set<ObjectIdentifier>>([])

    static func register(on metrics: ProcessMetrics) {
        guard registered.withLock({ $0.insert(ObjectIdentifier(metrics)).inserted }) else { return }
        let rss = metrics.gauge("process", "resident_memory", unit: "bytes", help: "Resident set size (VmRSS).")
        let peak = metrics.gauge("process", "resident_memory_peak", unit: "bytes", help: "Peak resident set size (VmHWM).")
        let start = metrics.gauge("process", "start_time", unit: "seconds", help: "Start time of the process since the Unix epoch.")
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        start.set(Double(now.tv_sec))
        metrics.addCollector {
            let memory = ProcessMemory.read()
            rss.set(Double(memory.rssKiB * 1024))
            peak.set(Double(memory.peakKiB * 1024))
        }
    }
}

/// VmRSS and VmHWM of a process from /proc/<pid>/status, KiB.
public enum ProcessMemory {
    public static func read(pid: String = "self") -> (rssKiB: UInt64, peakKiB: UInt64) {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (0, 0) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if got < 0, errno == EINTR { continue }
            if got <= 0 { break }
            count += got
        }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        func field(_ name: String) -> UInt64 {
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                return UInt64(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
            }
            return 0
        }
        return (field("VmRSS"), field("VmHWM"))
    }
}
