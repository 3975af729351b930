@testable import AtRestMetrics
import Prometheus
import Testing

/// `LatencyHistogram` (lock-free) against swift-prometheus' own
/// `DurationHistogram`, the type it replaced on the per-call paths: the same
/// records give the same exposition lines, byte for byte.
@Suite struct LatencyHistogramTests {
    static let samples: [Duration] = [
        .zero, .nanoseconds(1), .microseconds(49), .microseconds(50), .nanoseconds(50_001), .microseconds(999), .milliseconds(1),
        .milliseconds(7), .milliseconds(250), .seconds(10), .seconds(11), .seconds(100_000), .nanoseconds(-5),
    ]

    /// What `histogram` renders as lines, after the `# TYPE` line of `name`.
    static func lines(_ text: String, of name: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(name + "_") }
    }

    @Test func rendersWhatSwiftPrometheusRendersForTheSameRecords() async throws {
        for labels in [[], [("method", "atrest.v1.Blob/Put"), ("kind", "a \"quoted\\ value\nhere")]] as [[(String, String)]] {
            let ours = ProcessMetrics(), theirs = PrometheusCollectorRegistry()
            let histogram = ours.histogram("test", "latency", help: "Latency.", labels: labels)
            let descriptor = MetricNameDescriptor(namespace: "atrest", subsystem: "test", metricName: "latency", unitName: "seconds", helpText: "Latency.")
            let reference = labels.isEmpty ? theirs.makeDurationHistogram(descriptor: descriptor, buckets: ProcessMetrics.latencyBuckets)
                : theirs.makeDurationHistogram(descriptor: descriptor, labels: labels, buckets: ProcessMetrics.latencyBuckets)
            // Negative durations count as zero in ours; give the reference the same.
            for sample in Self.samples {
                histogram.record(sample)
                reference.record(max(sample, .zero))
            }
            let text = String(decoding: ours.registry.emitToBuffer(), as: UTF8.self)
            #expect(!text.contains("atrest_test_latency_seconds"), "rendered by the registry too")
            let ourText = String(decoding: await ours.exposition(), as: UTF8.self)
            let theirText = String(decoding: theirs.emitToBuffer(), as: UTF8.self)
            let expected = Self.lines(theirText, of: "atrest_test_latency_seconds")
            #expect(expected.count == ProcessMetrics.latencyBuckets.count + 3)
            #expect(Self.lines(ourText, of: "atrest_test_latency_seconds") == expected)
            #expect(ourText.contains("# HELP atrest_test_latency_seconds Latency.\n# TYPE atrest_test_latency_seconds histogram\n"))
        }
    }

    /// A bound is inclusive (`le`), the count is the +Inf bucket, the sum in
    /// nanoseconds; the same name and labels give the same histogram.
    @Test func bucketsAreInclusiveAndSeriesAreShared() {
        let metrics = ProcessMetrics()
        let histogram = metrics.histogram("test", "bounds", help: "h", labels: [("k", "v")], buckets: [.microseconds(10), .microseconds(20)])
        #expect(metrics.histogram("test", "bounds", help: "h", labels: [("k", "v")]) === histogram)
        #expect(metrics.histogram("test", "bounds", help: "h", labels: [("k", "w")]) !== histogram)
        for micros in [10, 10, 11, 20, 21] { histogram.record(.microseconds(micros)) }
        let (cumulative, sum) = histogram.snapshot()
        #expect(cumulative == [2, 4, 5])
        #expect(sum == .microseconds(72))
        #expect(LatencyHistogram.nanoseconds(.seconds(Int64.max)) == .max)
    }
}
