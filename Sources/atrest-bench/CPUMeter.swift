import AtRestTesting
import Foundation

/// CPU seconds of named groups of processes, so a line can say what one
/// op cost each of them: on this 2-core machine the OSDs and AtRest share
/// the cores, so a rate is bounded by the CPU per op of everything together.
struct CPUMeter {
    /// A group's name and its pids (0 is this process, the bench client).
    var groups: [(name: String, pids: [Int32])]

    /// The daemons of a ceph-dev cluster (`DIR/pids`: "name pid" lines), as one group.
    static func cephGroup(_ dev: CephDevScript) -> (name: String, pids: [Int32]) {
        let lines = (try? String(contentsOfFile: "\(dev.directory)/pids", encoding: .utf8)) ?? ""
        let pids = lines.split(separator: "\n").compactMap { line in line.split(separator: " ").last.flatMap { Int32($0) } }
        return ("OSDs+mon", pids)
    }

    /// A ceph-dev cluster's daemons and this process: what librados' own ops cost.
    static func librados(_ dev: CephDevScript) -> CPUMeter { CPUMeter(groups: [cephGroup(dev), ("client", [0])]) }

    func sample() -> [Double] {
        groups.map { group in group.pids.map { $0 == 0 ? ProcessCPU.selfSeconds() : ProcessCPU.seconds(pid: $0) }.reduce(0, +) }
    }

    /// "CPU µs per op: …, sum …" since `mark` for `ops` ops (count the warm-up call).
    func line(since mark: [Double], ops: Int) -> String { line(spent: zip(sample(), mark).map { $0 - $1 }, ops: ops) }

    /// The same for CPU seconds `spent` per group.
    func line(spent seconds: [Double], ops: Int) -> String {
        let spent = seconds.map { $0 * 1e6 / Double(max(ops, 1)) }
        return "   CPU µs per op: " + zip(groups, spent).map { "\($0.name) \(decimals($1, 0))" }.joined(separator: ", ")
            + ", sum \(decimals(spent.reduce(0, +), 0))"
    }
}
