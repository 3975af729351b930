import AtRestCrypto
import AtRestRuntime
import AtRestWire

/// Wraps a service's method table: answers `atrest.v1.Status/Get` itself,
/// runs every other call with its call id in `CallLog` (so each log line
/// about the call carries it) and counts it by method and status code.
///
/// The call id logged is the client's: behind the front door the broker
/// rewrites `call_id` per dispatch, so the front door passes the client's in
/// metadata `call-id` (see `StatusService.callIDKey`), which wins when present.
public struct StatusService: RPCService {
    public static let callIDKey = "call-id"

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
        return try await CallLog.$callID.withValue(callID) {
            let started = ContinuousClock.now
            let requestBytes = request.body.count + request.parts.reduce(0) { $0 + $1.count }
            do {
                let response = try await inner.handle(request)
                status.record(method: method, code: .ok, duration: ContinuousClock.now - started, requestBytes: requestBytes,
                              responseBytes: response.body.count + response.parts.reduce(0) { $0 + $1.count })
                return response
            } catch let failure as RPCStatus {
                status.record(method: method, code: failure.code, duration: ContinuousClock.now - started, requestBytes: requestBytes)
                throw failure
            } catch {
                status.record(method: method, code: .internal, duration: ContinuousClock.now - started, requestBytes: requestBytes)
                throw error
            }
        }
    }
}
