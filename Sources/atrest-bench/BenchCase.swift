/// One measured workload for `BenchClock.interleaved`.
struct BenchCase {
    let name: String
    let bytes: Int
    let body: () throws -> Void
}

/// Throughputs (bytes/s) of one case's slices.
struct SliceStats {
    let slices: [Double]
    var best: Double { slices.max() ?? 0 }
    var worst: Double { slices.min() ?? 0 }
    var median: Double { let s = slices.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
}

extension BenchClock {
    /// Runs every case once (warm-up), then `rounds` rounds in which each case
    /// runs for one slice of `seconds / rounds`. Interleaving spreads the
    /// shared machine's load bursts over all cases alike; the best slice is
    /// the closest to an uncontended run, and the median/worst show the spread.
    static func interleaved(_ cases: [BenchCase], rounds: Int, seconds: Double) throws -> [SliceStats] {
        for c in cases { try c.body() }
        var slices = [[Double]](repeating: [], count: cases.count)
        let slice = seconds / Double(max(rounds, 1))
        for _ in 0..<max(rounds, 1) {
            for (i, c) in cases.enumerated() {
                var iterations = 0
                let start = now()
                var elapsed = 0.0
                repeat {
                    try c.body()
                    iterations += 1
                    elapsed = now() - start
                } while elapsed < slice
                slices[i].append(Double(iterations * c.bytes) / elapsed)
            }
        }
        return slices.map(SliceStats.init)
    }

    static func row(_ name: String, _ stats: SliceStats, baseline: Double, fairBaseline: Double?) -> String {
        func mib(_ v: Double) -> String { String(format: "%7.0f", v / 1_048_576) }
        var line = "\(name.padding(toLength: 68, withPad: " ", startingAt: 0)) \(mib(stats.best)) MiB/s (\(mib(stats.median)),\(mib(stats.worst)))"
        line += "  ratio \(String(format: "%.2f", stats.best / baseline))"
        if let fairBaseline { line += "  [fair \(String(format: "%.2f", stats.best / fairBaseline))]" }
        return line
    }
}
