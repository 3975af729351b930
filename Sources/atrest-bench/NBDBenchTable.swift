/// The summary of `atrest-bench nbd`: per job, each target's rate (IOPS
/// for 4 KiB jobs, MiB/s for 1 MiB jobs) and p99 completion latency, then
/// AtRest's ratios to nbdkit memory and to the O_DIRECT file, and the
/// issue's target. `results[job][target]` in the order of `targets`, AtRest
/// first, the file last.
struct NBDBenchTable {
    let targets: [String]
    let jobs: [FioJob]
    let results: [[FioResult]]

    /// "12345 IOPS p99 1.23 ms" or "456 MiB/s p99 12.3 ms".
    static func cell(_ result: FioResult, _ job: FioJob) -> String {
        let rate = job.blockSize < 1 << 20 ? "\(decimals(result.iops, 0)) IOPS" : "\(decimals(result.mibPerSecond, 0)) MiB/s"
        return "\(rate) p99 \(milliseconds(result.p99))"
    }

    static func milliseconds(_ seconds: Double) -> String {
        seconds < 0.01 ? "\(decimals(seconds * 1000, 2)) ms" : "\(decimals(seconds * 1000, 1)) ms"
    }

    var text: String {
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        let first = 36, column = 26
        var lines = [pad("job", first) + targets.map { pad($0, column) }.joined() + pad("AtRest/nbdkit", 15) + pad("AtRest/O_DIRECT", 17) + "target"]
        for (job, row) in zip(jobs, results) {
            guard let atrest = row.first, let file = row.last, row.count >= 2 else { continue }
            let ceiling = row[row.count - 2]
            func rate(_ result: FioResult) -> Double { result.bytesPerSecond }
            let ratio = rate(atrest) / rate(file)
            var line = pad(job.label, first) + row.map { pad(Self.cell($0, job), column) }.joined()
            line += pad(decimals(rate(atrest) / rate(ceiling)), 15) + pad(decimals(ratio), 17)
            if let target = job.target {
                line += "≥ \(decimals(target)): \(ratio >= target ? "met" : "MISSED")"
            } else {
                line += "none"
            }
            lines.append(line)
            if job.isWrite, row.contains(where: { $0.flushP99 != nil }) {
                let flushes = row.map { $0.flushP99.map { "flush p99 \(Self.milliseconds($0))" } ?? "no flushes" }
                lines.append(pad("", first) + flushes.map { pad($0, column) }.joined())
            }
        }
        return lines.joined(separator: "\n")
    }
}
