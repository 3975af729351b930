import AtRestTesting

/// Rounds of one side of a comparison taken apart in time (alternating with
/// the other side's), merged: latencies, the CPU each group spent, and the
/// RADOS ops the OSDs served.
struct MeteredRounds {
    let meter: CPUMeter
    let dev: CephDevScript?
    private(set) var parts: [Latency] = []
    /// CPU seconds each of `meter`'s groups spent over the rounds.
    private(set) var cpuSpent: [Double]
    private var osd = OSDCounters()

    init(meter: CPUMeter, dev: CephDevScript?) {
        self.meter = meter
        self.dev = dev
        cpuSpent = meter.groups.map { _ in 0 }
    }

    /// One round: `measure` (a `Latency.measure`) with its CPU and OSD ops.
    mutating func round(_ measure: () async throws -> Latency) async rethrows {
        let ops = dev.map { OSDCounters.sample($0.directory) }
        let mark = meter.sample()
        parts.append(try await measure())
        cpuSpent = zip(cpuSpent, zip(meter.sample(), mark)).map { $0 + $1.0 - $1.1 }
        if let ops, let dev { osd = osd + (OSDCounters.sample(dev.directory) - ops) }
    }

    var latency: Latency { Latency.merged(parts) }
    /// Ops made, each round's warm-up call included.
    var ops: Int { parts.map { $0.count + 1 }.reduce(0, +) }
    var cpuLine: String { meter.line(spent: cpuSpent, ops: ops) }
    /// "RADOS ops per put" (nil without a ceph-dev cluster).
    var osdLine: String? { dev == nil ? nil : osd.line(count: ops) }
}

extension Latency {
    /// The ops/s of each round, for a line.
    static func rates(_ rounds: [Latency]) -> String { rounds.map { decimals($0.opsPerSecond, 0) }.joined(separator: " ") }
}
