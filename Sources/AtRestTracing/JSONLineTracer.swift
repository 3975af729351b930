import AtRestRuntime
import Synchronization
import Tracing
import W3CTraceContext

/// The tracer of every AtRest process when `--trace-file` or `--trace-stderr`
/// is given (docs/OPERATIONS.md "Traces"): W3C `traceparent` in and out of
/// RPC metadata, finished spans written as JSON lines by a `SpanSink`.
///
/// Sampling is parent-based: a span whose parent (local, or the caller's
/// `traceparent`) is sampled is recorded, one whose parent is not sampled is
/// not; a trace's root is sampled with probability `sampleRatio`. Spans not
/// recorded still carry their trace id and the unsampled flag downstream, so
/// one trace is recorded everywhere or nowhere.
public final class JSONLineTracer: Tracer, Sendable {
    public typealias Span = TraceSpan

    public let service: String
    public let sampleRatio: Double
    let sink: SpanSink

    public init(service: String, sampleRatio: Double, sink: SpanSink) {
        self.service = service
        self.sampleRatio = min(max(sampleRatio, 0), 1)
        self.sink = sink
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> TraceSpan {
        var context = context()
        let parent = context.traceSpanContext
        let sampled = parent?.sampled ?? (sampleRatio >= 1 || Double.random(in: 0..<1) < sampleRatio)
        let spanContext = TraceSpanContext(traceID: parent?.traceID ?? .random(), spanID: .random(),
                                           parentSpanID: parent?.spanID, sampled: sampled)
        context.traceSpanContext = spanContext
        return TraceSpan(name: operationName, kind: kind, context: context, start: instant().nanosecondsSinceEpoch,
                         sink: sampled ? sink : nil, service: service)
    }

    public func forceFlush() {}

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier), let parent = TraceSpanContext(traceparent: value) else { return }
        context.traceSpanContext = parent
    }

    public func inject<Carrier, Inject: Injector>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let span = context.traceSpanContext else { return }
        injector.inject(span.traceparent, forKey: "traceparent", into: &carrier)
    }
}

/// A span of `JSONLineTracer`; written to its sink when it ends (if sampled).
public final class TraceSpan: Tracing.Span, Sendable {
    public let context: InstrumentationContext
    public let kind: SpanKind
    let start: UInt64
    let service: String
    /// Nil when the span is not sampled: nothing is recorded.
    private let sink: SpanSink?
    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var errors: [String] = []
        var ended = false
    }
    private let state: Mutex<State>

    init(name: String, kind: SpanKind, context: InstrumentationContext, start: UInt64, sink: SpanSink?, service: String) {
        self.context = context
        self.kind = kind
        self.start = start
        self.sink = sink
        self.service = service
        state = Mutex(State(name: name))
    }

    public var spanContext: TraceSpanContext { context.traceSpanContext! }
    public var isRecording: Bool { sink != nil && !state.withLock { $0.ended } }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set {
            guard sink != nil else { return }
            state.withLock { $0.attributes = newValue }
        }
    }

    public func setStatus(_ status: SpanStatus) {
        guard sink != nil else { return }
        state.withLock { $0.status = status }
    }

    public func addEvent(_ event: SpanEvent) {}
    public func addLink(_ link: SpanLink) {}

    /// Records the error's type only: descriptions may name accounts, blobs or principals.
    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        guard sink != nil else { return }
        let type = String(describing: Swift.type(of: error))
        state.withLock { $0.errors.append(type) }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let finished: State? = state.withLock {
            guard !$0.ended else { return nil }
            $0.ended = true
            return $0
        }
        guard let sink, let finished else { return }
        sink.write(FinishedSpan(
            service: service, name: finished.name, kind: kind, context: spanContext, start: start,
            end: instant().nanosecondsSinceEpoch, attributes: finished.attributes, status: finished.status, errors: finished.errors))
    }
}

/// A span as exported: one JSON object per line (docs/OPERATIONS.md "Traces").
public struct FinishedSpan: Sendable {
    public var service: String
    public var name: String
    public var kind: SpanKind
    public var context: TraceSpanContext
    public var start: UInt64
    public var end: UInt64
    public var attributes: SpanAttributes
    public var status: SpanStatus?
    public var errors: [String]

    public var jsonLine: String {
        var json = JSONObject()
        json.add("trace_id", context.traceID.description)
        json.add("span_id", context.spanID.description)
        if let parent = context.parentSpanID { json.add("parent_span_id", parent.description) }
        json.add("name", name)
        json.add("kind", "\(kind)")
        json.add("service", service)
        json.add("start", ISO8601.format(nanosecondsSinceEpoch: start))
        json.addRaw("start_unix_nano", String(start))
        json.addRaw("end_unix_nano", String(end))
        json.addRaw("duration_us", String((end &- start) / 1000))
        json.add("status", status.map { $0.code == .error ? "error" : "ok" } ?? (errors.isEmpty ? "unset" : "error"))
        if !errors.isEmpty { json.addRaw("errors", "[" + errors.map(JSONObject.quote).joined(separator: ",") + "]") }
        var attributesJSON = JSONObject()
        attributes.forEach { key, value in attributesJSON.addRaw(key, Self.json(value)) }
        json.addRaw("attributes", attributesJSON.text)
        return json.text
    }

    static func json(_ value: SpanAttribute) -> String {
        switch value {
        case .int32(let v): String(v)
        case .int64(let v): String(v)
        case .double(let v): v.isFinite ? String(v) : "null"
        case .bool(let v): String(v)
        case .string(let v): JSONObject.quote(v)
        case .int32Array(let v): "[" + v.map { String($0) }.joined(separator: ",") + "]"
        case .int64Array(let v): "[" + v.map { String($0) }.joined(separator: ",") + "]"
        case .doubleArray(let v): "[" + v.map { $0.isFinite ? String($0) : "null" }.joined(separator: ",") + "]"
        case .boolArray(let v): "[" + v.map { String($0) }.joined(separator: ",") + "]"
        case .stringArray(let v): "[" + v.map(JSONObject.quote).joined(separator: ",") + "]"
        default: JSONObject.quote("\(value)")
        }
    }
}
