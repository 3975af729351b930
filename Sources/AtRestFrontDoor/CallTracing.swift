import AtRestMessaging
import AtRestTracing
import AtRestWire
import Synchronization
import Tracing

/// The front door's spans of a data-plane call (docs/OPERATIONS.md "Traces"),
/// kept on the broker's loop: a server span named after the method (from
/// admission until the answer goes back to the client), and its children
/// `authorization` (token and account check) and `queueing` (admitted until
/// a worker takes the call). The worker gets `queueing` as its
/// `traceparent`, so its spans hang below it.
///
/// With tracing off the front door has none (`whenTracing`): no span, no
/// hook on the broker. Open spans are bounded (`limit`): past it, a call is
/// still traced downstream but its front-door spans are dropped.
final class CallTracing: Sendable {
    private struct Open {
        var call: any Span
        var queueing: (any Span)?
    }
    private let open = Mutex<[[UInt8]: Open]>([:])
    let limit: Int

    init(limit: Int = 10_000) { self.limit = limit }

    /// A `CallTracing` when the process traces (`--trace-file`), else nil.
    static func whenTracing() -> CallTracing? {
        InstrumentationSystem.tracer is NoOpTracer ? nil : CallTracing()
    }

    /// Runs `authorize` (the broker's admission) inside the spans.
    func admit(_ header: inout RPCHeader, _ authorize: (inout RPCHeader) -> RPCStatus?) -> RPCStatus? {
        var context = InstrumentationContext.topLevel
        InstrumentationSystem.instrument.extract(header.metadata, into: &context, using: MetadataExtractor())
        let call = startSpan(header.method, context: context, ofKind: .server)
        let authorization = startSpan("authorization", context: call.context, ofKind: .internal)
        let refusal = authorize(&header)
        if let refusal {
            authorization.attributes["rpc.status_code"] = refusal.code.rawValue
            authorization.setStatus(SpanStatus(code: .error))
            authorization.end()
            call.attributes["rpc.status_code"] = refusal.code.rawValue
            call.end()
            return refusal
        }
        authorization.end()
        let queueing = startSpan("queueing", context: call.context, ofKind: .producer)
        InstrumentationSystem.instrument.inject(queueing.context, into: &header.metadata, using: MetadataInjector())
        if call.isRecording {
            let kept = open.withLock { open -> Bool in
                guard open.count < limit else { return false }
                open[header.callID] = Open(call: call, queueing: queueing)
                return true
            }
            if !kept {
                queueing.end()
                call.end()
            }
        }
        return nil
    }

    /// The broker's `callEvents` hook.
    func event(_ event: BrokerCallEvent) {
        switch event {
        case .dispatched(let callID):
            let queueing: (any Span)? = open.withLock { open in
                defer { open[callID]?.queueing = nil }
                return open[callID]?.queueing
            }
            queueing?.end()
        case .answered(let callID):
            guard let entry = open.withLock({ $0.removeValue(forKey: callID) }) else { return }
            entry.queueing?.end()
            entry.call.end()
        }
    }
}
