import AtRestRuntime
import AtRestTracing
import Foundation
import Logging
import Testing
import Tracing

/// JSON log lines and the JSON-lines tracer, written to real files and read
/// back with Foundation's JSON parser (docs/OPERATIONS.md "Logs", "Traces").
@Suite struct ObservabilityTests {
    static func temporaryFile(_ tag: String) -> String {
        NSTemporaryDirectory() + "atrest-\(tag)-\(UUID().uuidString.prefix(8)).jsonl"
    }

    static func objects(_ path: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not a JSON object: \($0)")
        }
    }

    @Test func aJSONLogLineParsesAndCarriesTheCallID() throws {
        let path = Self.temporaryFile("log")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try LineWriter(appendingTo: path)
        let logger = Logger(label: "atrest.test") {
            var handler = JSONLogHandler(service: "atrest-test", label: $0, metadataProvider: CallLog.metadataProvider, writer: writer)
            handler.logLevel = .debug
            return handler
        }
        CallLog.$callID.withValue("00112233445566778899aabbccddeeff") {
            logger.info("quote \" backslash \\ newline \n tab \t bell \u{07} é", metadata: ["n": "1", "list": ["a", "b"], "map": ["k": "v"]])
        }
        logger.debug("outside a call")
        logger.trace("below the level")
        let lines = try Self.objects(path)
        try #require(lines.count == 2)
        #expect(lines[0]["message"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{07} é")
        #expect(lines[0]["call_id"] as? String == "00112233445566778899aabbccddeeff")
        #expect(lines[0]["level"] as? String == "info" && lines[0]["service"] as? String == "atrest-test")
        let metadata = try #require(lines[0]["metadata"] as? [String: Any])
        #expect(metadata["n"] as? String == "1" && metadata["list"] as? [String] == ["a", "b"])
        #expect((metadata["map"] as? [String: String]) == ["k": "v"] && metadata["call_id"] == nil)
        let time = try #require(lines[0]["time"] as? String)
        #expect(ISO8601DateFormatter().date(from: time.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) != nil)
        #expect(lines[1]["call_id"] == nil && lines[1]["level"] as? String == "debug")
    }

    /// Parent-based sampling: a sampled caller is always recorded, an unsampled
    /// one never; a root follows the ratio and tells downstream in its flag.
    @Test func samplingFollowsTheParentAndTheRatio() throws {
        let path = Self.temporaryFile("trace")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tracer = JSONLineTracer(service: "atrest-test", sampleRatio: 0, sink: SpanSink(writer: try LineWriter(appendingTo: path)))
        func context(_ traceparent: String?) -> InstrumentationContext {
            var context = InstrumentationContext.topLevel
            tracer.extract(traceparent.map { ["traceparent": $0] } ?? [:], into: &context, using: MetadataExtractor())
            return context
        }
        func outgoing(_ span: TraceSpan) -> String? {
            var metadata: [String: String] = [:]
            tracer.inject(span.context, into: &metadata, using: MetadataInjector())
            return metadata["traceparent"]
        }
        let sampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let parent = tracer.startSpan("sampled", context: context(sampled), ofKind: .server)
        let child = tracer.startSpan("child", context: parent.context)
        #expect(parent.isRecording && child.isRecording)
        #expect(outgoing(child)?.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") == true && outgoing(child)?.hasSuffix("-01") == true)
        child.attributes["rpc.status_code"] = 5
        child.recordError(CancellationError())
        child.end()
        parent.end()
        parent.end()  // a second end writes nothing

        let unsampled = tracer.startSpan("unsampled", context: context("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"))
        let root = tracer.startSpan("root", context: context(nil))
        let malformed = tracer.startSpan("malformed", context: context("00-zz-yy-01"))
        #expect(!unsampled.isRecording && !root.isRecording && !malformed.isRecording)
        #expect(outgoing(root)?.hasSuffix("-00") == true && outgoing(root)?.contains("0af7651916cd43dd8448eb211c80319c") == false)
        for span in [unsampled, root, malformed] { span.end() }

        let spans = try Self.objects(path)
        #expect(spans.map { $0["name"] as? String } == ["child", "sampled"])
        let (childLine, parentLine) = (spans[0], spans[1])
        #expect(parentLine["parent_span_id"] as? String == "b7ad6b7169203331" && parentLine["kind"] as? String == "server")
        #expect(childLine["parent_span_id"] as? String == parentLine["span_id"] as? String)
        #expect(spans.allSatisfy { $0["trace_id"] as? String == "0af7651916cd43dd8448eb211c80319c" && $0["service"] as? String == "atrest-test" })
        #expect((childLine["attributes"] as? [String: Any])?["rpc.status_code"] as? Int == 5)
        #expect(childLine["errors"] as? [String] == ["CancellationError"] && childLine["status"] as? String == "error")
    }

    @Test func aRatioOfOneRecordsEveryRoot() throws {
        let path = Self.temporaryFile("trace")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tracer = JSONLineTracer(service: "atrest-test", sampleRatio: 1, sink: SpanSink(writer: try LineWriter(appendingTo: path)))
        for index in 0..<3 { tracer.startSpan("root \(index)", context: .topLevel).end() }
        let spans = try Self.objects(path)
        #expect(spans.count == 3 && Set(spans.compactMap { $0["trace_id"] as? String }).count == 3)
        #expect(spans.allSatisfy { $0["parent_span_id"] == nil })
        #expect(throws: TracingSetup.Failure.self) { try TracingSetup.bootstrap(service: "x", file: path, sampleRatio: 1.5) }
        #expect(throws: LineWriterError.self) { _ = try LineWriter(appendingTo: "/nonexistent-dir/x.jsonl") }
    }
}
