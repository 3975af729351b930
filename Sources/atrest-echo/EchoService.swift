import AtRestRuntime
import AtRestMessaging
import AtRestWire
import Foundation

/// The echo methods: `Echo` (idempotent) and `EchoOnce` (same behaviour,
/// treated as non-idempotent by the broker), replying with the text, who
/// served it, and the request's payload frames.
enum EchoService {
    static let echo = "atrest.v1.Echo/Echo"
    static let echoOnce = "atrest.v1.Echo/EchoOnce"

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
        router.register(echo, EchoRequest.self, parts: handler)
        router.register(echoOnce, EchoRequest.self, parts: handler)
        return router
    }
}

/// Lines on stdout that launchers wait for.
enum Ready {
    static func announce(_ fields: String) {
        SignalWatcher.catchTermination()
        line("ready atrest-echo \(fields)")
    }

    static func line(_ text: String) {
        print(text)
        fflush(nil)
    }
}

/// Waits for SIGTERM or SIGINT (caught from the ready line on: `Ready.announce`).
enum Signals {
    static func waitForTermination() async {
        let watcher = SignalWatcher.start([SIGTERM, SIGINT])
        _ = await watcher.next()
        watcher.cancel()
    }
}
