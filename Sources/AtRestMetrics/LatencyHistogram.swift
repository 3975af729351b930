import Prometheus
import Synchronization

/// A histogram of durations for the paths that record once per call or per
/// durable write: a record is a binary search over the bucket bounds (in
/// nanoseconds) and two relaxed atomic adds, with no lock and no allocation.
///
/// swift-prometheus' `DurationHistogram` takes a lock and compares the value
/// with every bucket bound as a generic `Duration` (unspecialized across the
/// module boundary); on a worker's 4 KiB put that cost about 0.15 µs per
/// record, three records per put (docs/BENCHMARKS.md "Metrics on vs off",
/// session 20). `ProcessMetrics` renders these after its registry, in the
/// same text format and with the same names, bounds (`le`) and label
/// rendering as swift-prometheus' histograms.
///
/// A scrape reads the buckets one by one while records go on, so a scrape
/// can see a record in its bucket and not yet in `_sum` (or the reverse):
/// `_count` is the sum of the buckets read, so it always equals the `+Inf`
/// bucket, and `_sum` may be one record behind or ahead of them.
public final class LatencyHistogram: @unchecked Sendable {
    /// Upper bounds in nanoseconds, ascending, then `Int64.max` (the `+Inf` bucket).
    private let bounds: UnsafeMutableBufferPointer<Int64>
    /// Per bucket, not cumulative: counts[i] holds records in (bounds[i-1], bounds[i]].
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let sumNanoseconds = Atomic<Int64>(0)
    let buckets: [Duration]
    /// `key="value",…` as swift-prometheus renders labels (escaped).
    let renderedLabels: [UInt8]

    init(buckets: [Duration], labels: [(String, String)]) {
        let sorted = buckets.sorted()
        self.buckets = sorted
        bounds = .allocate(capacity: sorted.count + 1)
        for (index, bucket) in sorted.enumerated() { bounds[index] = Self.nanoseconds(bucket) }
        bounds[sorted.count] = .max
        counts = .allocate(capacity: sorted.count + 1)
        for index in 0...sorted.count { (counts + index).initialize(to: Atomic(0)) }
        renderedLabels = Self.render(labels)
    }

    /// `key="value",…`, values escaped.
    static func render(_ labels: [(String, String)]) -> [UInt8] {
        Array(labels.map { "\($0.0)=\"\(escaped($0.1))\"" }.joined(separator: ",").utf8)
    }

    deinit {
        counts.deinitialize(count: bounds.count)
        counts.deallocate()
        bounds.deallocate()
    }

    /// Records one duration (negative ones count as zero).
    @inline(__always)
    public func record(_ duration: Duration) { record(nanoseconds: Self.nanoseconds(duration)) }

    public func record(nanoseconds: Int64) {
        let value = max(0, nanoseconds)
        var low = 0, high = bounds.count - 1  // the last bound is Int64.max: always found
        while low < high {
            let middle = (low + high) >> 1
            if bounds[middle] < value { low = middle + 1 } else { high = middle }
        }
        counts[low].add(1, ordering: .relaxed)
        sumNanoseconds.wrappingAdd(value, ordering: .relaxed)
    }

    /// Cumulative counts per bound (the last: `+Inf`) and the sum, as read now.
    public func snapshot() -> (cumulative: [Int], sum: Duration) {
        var running = 0
        let cumulative = (0..<bounds.count).map { index in
            running += counts[index].load(ordering: .relaxed)
            return running
        }
        return (cumulative, .nanoseconds(sumNanoseconds.load(ordering: .relaxed)))
    }

    /// Appends this series' `_bucket`, `_sum` and `_count` lines for `name`.
    func emit(name: String, into buffer: inout [UInt8]) {
        let (cumulative, sum) = snapshot()
        func line(_ suffix: String, le: String?, _ value: String) {
            buffer.append(contentsOf: name.utf8)
            buffer.append(contentsOf: suffix.utf8)
            if !renderedLabels.isEmpty || le != nil {
                buffer.append(UInt8(ascii: "{"))
                buffer.append(contentsOf: renderedLabels)
                if let le {
                    if !renderedLabels.isEmpty { buffer.append(UInt8(ascii: ",")) }
                    buffer.append(contentsOf: "le=\"\(le)\"".utf8)
                }
                buffer.append(UInt8(ascii: "}"))
            }
            buffer.append(UInt8(ascii: " "))
            buffer.append(contentsOf: value.utf8)
            buffer.append(UInt8(ascii: "\n"))
        }
        for (bucket, count) in zip(buckets, cumulative) { line("_bucket", le: bucket.bucketRepresentation, "\(count)") }
        line("_bucket", le: "+Inf", "\(cumulative.last ?? 0)")
        line("_sum", le: nil, sum.bucketRepresentation)
        line("_count", le: nil, "\(cumulative.last ?? 0)")
    }

    /// Whole nanoseconds, saturating at `Int64.max` (292 years).
    @inline(__always)
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflowAdding) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAdding ? .max : total
    }

    /// Text as the Prometheus text format wants it: backslash and newline
    /// escaped, and with `quotes` (a label value; not help text) the double quote.
    static func escaped(_ value: String, quotes: Bool = true) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"" where quotes: out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
