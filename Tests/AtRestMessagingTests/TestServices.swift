import AtRestMessaging
import AtRestWire
import Foundation

/// Services and helpers shared by the messaging unit tests.
enum TestServices {
    static let echo = EchoMethod.echo.name
    static let fail = "atrest.v1.Echo/Fail"
    static let crash = "atrest.v1.Echo/Crash"

    struct HiddenDetail: Error {}

    /// Echoes text and payload back after `delayMs`; `Fail` throws an
    /// `RPCStatus`, `Crash` a plain error whose text must not reach callers.
    static func router(name: String = "test") -> RPCRouter {
        var router = RPCRouter()
        // Echoes the received frames' memory itself (no copy either way).
        router.register(echo, EchoRequest.self) { (request: EchoRequest, context: RPCContext) async throws -> (EchoReply, [PayloadPart]) in
            if request.delayMs > 0 { try await Task.sleep(for: .milliseconds(Int(request.delayMs))) }
            return (EchoReply(text: request.text, servedBy: name), context.parts)
        }
        router.register(fail, EchoRequest.self) { (request: EchoRequest, _: RPCContext) async throws -> EchoReply in
            throw RPCStatus(.failedPrecondition, "refused: \(request.text)")
        }
        router.register(crash, EchoRequest.self) { (_: EchoRequest, _: RPCContext) async throws -> EchoReply in
            throw HiddenDetail()
        }
        return router
    }

    static func inproc(_ name: String) -> String { "inproc://\(name)-\(UUID().uuidString)" }
}
