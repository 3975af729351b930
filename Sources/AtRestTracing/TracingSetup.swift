import AtRestRuntime
import Logging
import Tracing

/// Where finished spans go: one JSON line each (`FinishedSpan.jsonLine`).
public struct SpanSink: Sendable {
    let writer: LineWriter

    public init(writer: LineWriter) { self.writer = writer }

    func write(_ span: FinishedSpan) { writer.write(line: span.jsonLine) }
}

/// Installs the process's tracer (`ProcessStart` calls this once, from the flags).
public enum TracingSetup {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// With no destination, tracing stays off (swift-distributed-tracing's
    /// no-op tracer: spans cost a task-local read and are never recorded).
    /// `file` "-" means stderr.
    public static func bootstrap(service: String, file: String?, sampleRatio: Double) throws(Failure) {
        guard let file else { return }
        guard sampleRatio >= 0, sampleRatio <= 1 else {
            throw Failure(description: "--trace-sample-ratio must be between 0 and 1, not \(sampleRatio)")
        }
        let writer: LineWriter
        if file == "-" {
            writer = .standardError
        } else {
            do {
                writer = try LineWriter(appendingTo: file)
            } catch {
                throw Failure(description: "--trace-file: \(error)")
            }
        }
        InstrumentationSystem.bootstrap(JSONLineTracer(service: service, sampleRatio: sampleRatio, sink: SpanSink(writer: writer)))
    }
}

/// Adds `trace_id` to log lines written inside a span (see `LogSetup`).
public enum TraceLog {
    public static let metadataProvider = Logger.MetadataProvider {
        guard let span = InstrumentationContext.current?.traceSpanContext else { return [:] }
        return ["trace_id": .string(span.traceID.description)]
    }

    /// The current span's trace id, if any (for tests and status lines).
    public static var currentTraceID: String? { InstrumentationContext.current?.traceSpanContext?.traceID.description }
}
