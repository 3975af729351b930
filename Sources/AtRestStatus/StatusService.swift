import AtRestCrypto
import AtRestRuntime
import AtRestTracing
import AtRestWire
import Logging
import Tracing

/// Wraps a service's method table: answers `atrest.v1.Status/Get` itself,
/// runs every other call with its call id in `CallLog` (so each log line
/// about the call carries it) and counts it by method and status code.
/// A call answered OK is counted right after its reply is sent
/// (`RPCResponse.afterReply`), so the caller does not wait for the counting;
/// a failed call is counted before its error is sent.
///
/// The call id logged is the client's: behind the front door the broker
/// rewrites `call_id` per dispatch, so the front door passes the client's in
/// metadata `call-id` (see `StatusService.callIDKey`), which wins when present.
///
/// Each call runs in a server span named after its method, a child of the
/// caller's `traceparent` when it sent one (docs/OPERATIONS.md "Traces");
/// calls this service makes while serving it carry the span on.
public struct StatusService: RPCService {
    public static let callIDKey = "call-id"
    /// One debug line per call ("call done": method and status code), with its call id and trace id.
    static let logger = Logger(label: "atrest.call")

    public let status: ServiceStatus
    private let inner: any RPCService

    public init(_ inner: any RPCService, status: ServiceStatus) {
        self.inner = inner
        self.status = status
    }

    public func handle(_ request: RPCRequest) async throws -> RPCResponse {
        let method = request.header.method
        if method == StatusMethod.get.name {
            return RPCResponse(await status.snapshot())
        }
        let callID = request.header.metadata[Self.callIDKey] ?? Hex.encode(request.header.callID)
        var context = InstrumentationContext.topLevel
        InstrumentationSystem.instrument.extract(request.header.metadata, into: &context, using: MetadataExtractor())
        return try await withSpan(method, context: context, ofKind: .server) { span in
            try await CallLog.$callID.withValue(callID) {
                let started = ContinuousClock.now
                let requestBytes = request.body.count + request.parts.reduce(0) { $0 + $1.count }
                let status = self.status
                /// Sets the span's status code and logs the call now; returns its counting, for the caller to run.
                func finished(_ code: StatusCode, responseBytes: Int = 0) -> @Sendable () -> Void {
                    let duration = ContinuousClock.now - started
                    span.attributes["rpc.status_code"] = code.rawValue
                    Self.logger.debug("call done", metadata: ["method": .string(method), "code": .string(code.description)])
                    return { status.record(method: method, code: code, duration: duration, requestBytes: requestBytes, responseBytes: responseBytes) }
                }
                do {
                    var response = try await inner.handle(request)
                    // Counted once the reply is on its way (`afterReply`): the caller does not wait for the bookkeeping.
                    let count = finished(.ok, responseBytes: response.body.count + response.parts.reduce(0) { $0 + $1.count })
                    let before = response.afterReply
                    response.afterReply = {
                        before?()
                        count()
                    }
                    return response
                } catch let failure as RPCStatus {
                    finished(failure.code)()
                    throw failure
                } catch {
                    finished(.internal)()
                    throw error
                }
            }
        }
    }
}
