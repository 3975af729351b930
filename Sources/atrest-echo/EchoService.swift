import AtRestRuntime
import AtRestMessaging
import AtRestWire
import Foundation
import Logging
import ServiceLifecycle

/// The echo methods: `Echo` (idempotent) and `EchoOnce` (same behaviour,
/// treated as non-idempotent by the broker), replying with the text, who
/// served it, and the request's payload frames.
enum EchoService {
    static func router(name: String, common: CommonOptions) -> RPCRouter {
        let extraDelay = common.delayMs
        let announce = common.announceCalls
        let handler: @Sendable (EchoRequest, RPCContext) async throws -> (EchoReply, [PayloadPart]) = { request, context in
            if announce { Ready.line("call \(context.header.method) \(request.text)") }
            let delay = max(request.delayMs, extraDelay)
            if delay > 0 { try await Task.sleep(for: .milliseconds(Int(delay))) }
            return (EchoReply(text: request.text, servedBy: name), context.parts)  // the received frames, not copied
        }
        var router = RPCRouter()
        router.register(EchoMethod.echo, parts: handler)
        router.register(EchoMethod.echoOnce, parts: handler)
        return router
    }
}

/// Lines on stdout that launchers wait for, and serving until SIGTERM/SIGINT.
enum Ready {
    static func line(_ text: String) {
        print(text)
        fflush(nil)
    }

    /// Runs until SIGTERM or SIGINT under `ServiceMain` (the ready line
    /// `ready atrest-echo <fields>` once the group runs), then `stop`.
    static func serve(_ fields: String, stop: @escaping @Sendable () async -> Void) async throws {
        EarlySignals.catchTermination()
        let serving = ClosureService {
            try? await gracefulShutdown()
            await stop()
        }
        try await ServiceMain.run([serving], ready: "ready atrest-echo \(fields)", logger: Logger(label: "atrest.echo"))
    }
}
