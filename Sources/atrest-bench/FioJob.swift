import Foundation

/// One fio job of `atrest-bench nbd`, run the same way against every
/// target: its command-line flags and what it reports.
struct FioJob {
    let name: String
    let label: String
    /// fio's `--rw`.
    let pattern: String
    let blockSize: Int
    let depth: Int
    /// Durable writes: `--fsync=1` (a flush after every write: an NBD FLUSH
    /// on the NBD targets, fsync(2) on the file), so every write counts once
    /// it is durable, as AtRest acknowledges it.
    var isWrite: Bool { pattern.contains("write") }
    var isRandom: Bool { pattern.hasPrefix("rand") }
    /// A time-limited job (`--runtime`); else it covers `--size` once (the fill).
    var timed = true

    /// AtRest's ratio to the O_DIRECT file the issue asks for (nil: none).
    var target: Double? {
        if isRandom { return isWrite ? 0.25 : nil }
        return 0.5
    }

    /// The flags of this job for `size` bytes and `seconds` (time-based jobs).
    func arguments(size: UInt64, seconds: Double) -> [String] {
        var arguments = [
            "--name=\(name)", "--output-format=json", "--rw=\(pattern)", "--bs=\(blockSize)", "--iodepth=\(depth)",
            "--size=\(size)", "--randrepeat=0", "--norandommap",
        ]
        if timed {
            arguments += ["--time_based", "--runtime=\(max(1, Int(seconds.rounded())))"]
        } else {
            arguments += ["--end_fsync=1"]
        }
        if isWrite, timed { arguments.append("--fsync=1") }
        return arguments
    }
}

/// What fio measured in one job: the data direction's rate and completion
/// latencies, and for durable writes the flushes' latency.
struct FioResult {
    var iops: Double
    var bytesPerSecond: Double
    /// p50/p99 completion latency of the reads or writes, seconds.
    var p50: Double
    var p99: Double
    /// p99 of the flushes (`--fsync=1`), seconds; nil when none were issued.
    var flushP99: Double?
    var mibPerSecond: Double { bytesPerSecond / 1_048_576 }

    /// Parses fio's `--output-format=json` (fio may print lines of its own
    /// before the document, e.g. the nbd engine's "fio: connected to NBD server").
    static func parse(_ output: String, write: Bool) throws(FioFailure) -> FioResult {
        guard let start = output.range(of: "{") else { throw FioFailure("fio printed no JSON report: \(output.suffix(2000))") }
        let object = try? JSONSerialization.jsonObject(with: Data(output[start.lowerBound...].utf8))
        guard let root = object as? [String: Any], let job = (root["jobs"] as? [[String: Any]])?.first,
              let side = job[write ? "write" : "read"] as? [String: Any] else {
            throw FioFailure("fio's JSON report has no job: \(output.suffix(2000))")
        }
        if let error = job["error"] as? Int, error != 0 { throw FioFailure("fio's job failed with errno \(error): \(output.suffix(2000))") }
        let iops = (side["iops"] as? NSNumber)?.doubleValue ?? 0
        guard iops > 0 else { throw FioFailure("fio's job completed no I/O: \(output.suffix(2000))") }
        func percentile(_ latency: Any?, _ key: String) -> Double? {
            guard let table = (latency as? [String: Any])?["percentile"] as? [String: Any] else { return nil }
            return (table[key] as? NSNumber).map { $0.doubleValue / 1e9 }
        }
        let completion = side["clat_ns"]
        var flush: Double?
        if write, let sync = job["sync"] as? [String: Any], let latency = sync["lat_ns"] as? [String: Any],
           ((latency["N"] as? NSNumber)?.intValue ?? 0) > 0 {
            flush = percentile(latency, "99.000000")
        }
        return FioResult(iops: iops, bytesPerSecond: (side["bw_bytes"] as? NSNumber)?.doubleValue ?? 0,
                         p50: percentile(completion, "50.000000") ?? 0, p99: percentile(completion, "99.000000") ?? 0, flushP99: flush)
    }
}

/// fio or a tool the NBD bench needs is missing, failed or reported nonsense.
struct FioFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
