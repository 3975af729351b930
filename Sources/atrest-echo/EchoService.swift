import AtRestRuntime
import AtRestMessaging
import AtRestWire
import Foundation

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
