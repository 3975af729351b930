import Glibc
import Synchronization

/// A JSON object built as text, one member at a time, for the JSON lines
/// AtRest writes (logs with `--log-format json`, finished spans): no
/// Foundation, keys in the order added, strings escaped per RFC 8259.
public struct JSONObject: Sendable {
    private var members: [String] = []

    public init() {}

    public mutating func add(_ key: String, _ value: String) {
        members.append(Self.quote(key) + ":" + Self.quote(value))
    }

    /// Adds an already encoded JSON value (number, object, array).
    public mutating func addRaw(_ key: String, _ json: String) {
        members.append(Self.quote(key) + ":" + json)
    }

    public var text: String { "{" + members.joined(separator: ",") + "}" }

    public static func quote(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// ISO 8601 UTC timestamps with microseconds: "2026-12-04T21:03:07.123456Z".
public enum ISO8601 {
    public static func format(nanosecondsSinceEpoch ns: UInt64) -> String {
        var seconds = time_t(ns / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let micros = Int32((ns % 1_000_000_000) / 1000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(micros, 6))Z"
    }

    /// The current time (CLOCK_REALTIME).
    public static func now() -> String { format(nanosecondsSinceEpoch: nowNanoseconds()) }

    public static func nowNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// Whole lines appended to a file descriptor (stderr or a file opened for
/// appending), one write(2) per line under a lock so lines of concurrent
/// writers never interleave.
public final class LineWriter: @unchecked Sendable {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let lock = Mutex(())

    public static let standardError = LineWriter(fd: 2, owns: false)

    private init(fd: Int32, owns: Bool) {
        self.fd = fd
        ownsDescriptor = owns
    }

    /// Opens `path` for appending (created 0600 when missing).
    public convenience init(appendingTo path: String) throws(LineWriterError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LineWriterError(path: path, errno: errno) }
        self.init(fd: fd, owns: true)
    }

    deinit { if ownsDescriptor { close(fd) } }

    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

public struct LineWriterError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var description: String { "cannot open '\(path)' for appending: \(String(cString: strerror(errno)))" }
}
