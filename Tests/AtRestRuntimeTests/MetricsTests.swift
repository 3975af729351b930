@testable import AtRestMetrics
import Testing

/// The metrics listener's HTTP head parser (pure) and the bounds on call labels.
@Suite struct HTTPHeadTests {
    @Test func aWholeGetIsARequest() {
        #expect(HTTPHead.parse(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) == .request(method: "GET", path: "/metrics"))
        #expect(HTTPHead.parse(Array("GET /readyz?verbose=1 HTTP/1.0\n\n".utf8)) == .request(method: "GET", path: "/readyz"))
        #expect(HTTPHead.parse(Array("HEAD / HTTP/1.1\r\n\r\n".utf8)) == .request(method: "HEAD", path: "/"))
    }

    @Test func aPartialHeadAsksForMore() {
        #expect(HTTPHead.parse(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8)) == .incomplete)
        #expect(HTTPHead.parse([]) == .incomplete)
    }

    @Test(arguments: ["garbage\r\n\r\n", "GET /metrics\r\n\r\n", "GET /metrics HTTP/2\r\n\r\n", "get /metrics HTTP/1.1\r\n\r\n",
                      "GET metrics HTTP/1.1\r\n\r\n", "GET /a b HTTP/1.1\r\n\r\n", " GET / HTTP/1.1\r\n\r\n"])
    func badRequestLinesAreMalformed(_ text: String) {
        guard case .malformed = HTTPHead.parse(Array(text.utf8)) else {
            Issue.record("'\(text)' was not refused")
            return
        }
    }

    @Test func oversizedHeadsAreMalformedWithoutWaitingForTheirEnd() {
        let long = Array("GET / HTTP/1.1\r\nX: ".utf8) + [UInt8](repeating: 0x61, count: HTTPHead.maxHeadBytes)
        guard case .malformed = HTTPHead.parse(long) else {
            Issue.record("an oversized head was not refused")
            return
        }
    }

    @Test func responsesCarryLengthAndClose() {
        let text = String(decoding: HTTPResponse(status: 404, text: "no\n").bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n") && text.contains("Content-Length: 3\r\n")
            && text.contains("Connection: close\r\n") && text.hasSuffix("\r\n\r\nno\n"))
        let ready = ReadinessCheck.response([ReadinessCheck("vault", ready: false, detail: "unreachable"), ReadinessCheck("workers", ready: true)])
        #expect(ready.status == 503 && String(decoding: ready.body, as: UTF8.self) == "not ready\nfailed vault: unreachable\nok workers\n")
    }
}

@Suite struct CallMetricsTests {
    @Test func methodsAreBoundedAndCounted() async {
        let metrics = ProcessMetrics()
        let calls = CallMetrics(metrics: metrics)
        calls.record(method: "atrest.v1.Blob/Put", code: "OK", duration: .milliseconds(1), requestBytes: 1, responseBytes: 1)
        #expect(!String(decoding: await metrics.exposition(), as: UTF8.self).contains("atrest_rpc_calls_total"), "recorded while nothing reads")
        metrics.enable()
        calls.record(method: "atrest.v1.Blob/Put", code: "OK", duration: .milliseconds(2), requestBytes: 100, responseBytes: 10)
        calls.record(method: "atrest.v1.Blob/Put", code: "OK", duration: .milliseconds(3), requestBytes: 50, responseBytes: 0)
        // A client making up methods: UNIMPLEMENTED is "unknown", and past the cap the rest are "other".
        for i in 0..<(2 * CallMetrics.maxMethods + 50) {
            calls.record(method: "made.up/\(i)", code: i % 2 == 0 ? "UNIMPLEMENTED" : "PERMISSION_DENIED", duration: .zero,
                         requestBytes: 0, responseBytes: 0)
        }
        let text = String(decoding: await metrics.exposition(), as: UTF8.self)
        #expect(text.contains("atrest_rpc_calls_total{method=\"atrest.v1.Blob/Put\",code=\"OK\"} 2"))
        #expect(text.contains("atrest_rpc_request_bytes_total{method=\"atrest.v1.Blob/Put\"} 150"))
        #expect(text.contains("atrest_rpc_call_duration_seconds_count{method=\"atrest.v1.Blob/Put\"} 2"))
        #expect(text.contains("atrest_rpc_calls_total{method=\"unknown\",code=\"UNIMPLEMENTED\"} \(CallMetrics.maxMethods + 25)"))
        #expect(text.contains("method=\"other\""))
        let methods = Set(text.split(separator: "\n").filter { $0.hasPrefix("atrest_rpc_calls_total{") }
            .compactMap { $0.split(separator: "\"").dropFirst().first })
        #expect(methods.count <= CallMetrics.maxMethods + 2)
    }

    /// The cache of resolved handles (one look-up per call): a method's
    /// handles are made once and reused, distinct methods and codes never
    /// share a series, and past the cap new methods fold into "other".
    @Test func handlesAreCachedPerMethodAndCodeAndStayDistinct() async {
        let metrics = ProcessMetrics()
        metrics.enable()
        let calls = CallMetrics(metrics: metrics)
        let putOK = calls.handles(method: "atrest.v1.Blob/Put", code: "OK")
        let putMissing = calls.handles(method: "atrest.v1.Blob/Put", code: "NOT_FOUND")
        let getOK = calls.handles(method: "atrest.v1.Blob/Get", code: "OK")
        #expect(putOK.0 === calls.handles(method: "atrest.v1.Blob/Put", code: "OK").0)
        #expect(putOK.1 === calls.handles(method: "atrest.v1.Blob/Put", code: "OK").1)
        #expect(putOK.0 === putMissing.0, "one method, one histogram and byte counters")
        #expect(putOK.1 !== putMissing.1 && putOK.1 !== getOK.1 && putMissing.1 !== getOK.1)
        #expect(putOK.0 !== getOK.0 && putOK.0.label == "atrest.v1.Blob/Put" && getOK.0.label == "atrest.v1.Blob/Get")
        #expect(calls.handles(method: "made.up/1", code: "UNIMPLEMENTED").0.label == "unknown")
        for (method, code, times) in [("atrest.v1.Blob/Put", "OK", 3), ("atrest.v1.Blob/Put", "NOT_FOUND", 2), ("atrest.v1.Blob/Get", "OK", 1)] {
            for _ in 0..<times {
                calls.record(method: method, code: code, duration: .microseconds(10), requestBytes: 7, responseBytes: 0)
            }
        }
        // Fill the label set up to the cap: later methods are "other", and stay so.
        var i = 0
        while calls.handles(method: "m/\(i)", code: "OK").0.label != "other" { i += 1 }
        #expect(i + 3 == CallMetrics.maxMethods, "Put, Get and unknown, then made-up methods up to the cap")
        #expect(calls.handles(method: "m/0", code: "OK").0.label == "m/0", "a method seen before the cap keeps its label")
        let folded = calls.handles(method: "m/late", code: "OK")
        #expect(folded.0.label == "other" && folded.0 === calls.handles(method: "m/later", code: "OK").0)
        #expect(folded.1 === calls.handles(method: "m/later", code: "OK").1)
        calls.record(method: "m/late", code: "OK", duration: .zero, requestBytes: 0, responseBytes: 0)
        calls.record(method: "m/later", code: "OK", duration: .zero, requestBytes: 0, responseBytes: 0)
        let text = String(decoding: await metrics.exposition(), as: UTF8.self)
        #expect(text.contains("atrest_rpc_calls_total{method=\"atrest.v1.Blob/Put\",code=\"OK\"} 3\n"))
        #expect(text.contains("atrest_rpc_calls_total{method=\"atrest.v1.Blob/Put\",code=\"NOT_FOUND\"} 2\n"))
        #expect(text.contains("atrest_rpc_calls_total{method=\"atrest.v1.Blob/Get\",code=\"OK\"} 1\n"))
        #expect(text.contains("atrest_rpc_request_bytes_total{method=\"atrest.v1.Blob/Put\"} 35\n"))
        #expect(text.contains("atrest_rpc_call_duration_seconds_count{method=\"atrest.v1.Blob/Put\"} 5\n"))
        #expect(text.contains("atrest_rpc_calls_total{method=\"other\",code=\"OK\"} 2\n"))
    }
}
