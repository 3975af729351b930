import Tracing
import W3CTraceContext

/// Where a span sits in its trace: the identity carried in `traceparent`.
///
/// Stored in the `InstrumentationContext` under `TraceSpanContext.Key`, both
/// for a span of this process and for the remote parent read from an
/// incoming call's metadata (then `isRemote`).
public struct TraceSpanContext: Sendable, Hashable {
    public var traceID: TraceID
    public var spanID: SpanID
    /// The span this one is a child of; nil for a trace's root.
    public var parentSpanID: SpanID?
    /// The W3C sampled flag: the trace is being recorded.
    public var sampled: Bool
    /// Read from a `traceparent` (the parent lives in another process).
    public var isRemote: Bool

    public init(traceID: TraceID, spanID: SpanID, parentSpanID: SpanID? = nil, sampled: Bool, isRemote: Bool = false) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.sampled = sampled
        self.isRemote = isRemote
    }

    /// Parses a W3C `traceparent` value ("00-<32 hex>-<16 hex>-<2 hex>"); nil when malformed.
    public init?(traceparent: String) {
        guard traceparent.utf8.count <= 128,
              let parsed = try? TraceContext(traceParentHeaderValue: traceparent) else { return nil }
        self.init(traceID: parsed.traceID, spanID: parsed.spanID, sampled: parsed.flags.contains(.sampled), isRemote: true)
    }

    /// The `traceparent` value naming this span as the parent.
    public var traceparent: String {
        TraceContext(traceID: traceID, spanID: spanID, flags: sampled ? .sampled : [], state: TraceState()).traceParentHeaderValue
    }

    public enum Key: InstrumentationContextKey {
        public typealias Value = TraceSpanContext
        public static let nameOverride: String? = "atrest-trace"
    }
}

extension InstrumentationContext {
    /// The span context stored by `JSONLineTracer` (or extracted from a call's metadata).
    public var traceSpanContext: TraceSpanContext? {
        get { self[TraceSpanContext.Key.self] }
        set { self[TraceSpanContext.Key.self] = newValue }
    }
}

/// RPC header metadata (`[String: String]`) as a carrier of `traceparent`.
public struct MetadataExtractor: Extractor {
    public init() {}
    public func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

public struct MetadataInjector: Injector {
    public init() {}
    public func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
