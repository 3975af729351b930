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
        let handler: @Sendable (EchoRequest, RPCContext) async throws -> (EchoReply, [[UInt8]]) = { request, context in
            if announce { Ready.line("call \(context.header.method) \(request.text)") }
            let delay = max(request.delayMs, extraDelay)
            if delay > 0 { try await Task.sleep(for: .milliseconds(Int(delay))) }
            return (EchoReply(text: request.text, servedBy: name), context.payload)
        }
        var router = RPCRouter()
        router.register(echo, EchoRequest.self, handler: handler)
        router.register(echoOnce, EchoRequest.self, handler: handler)
        return router
    }
}

/// Lines on stdout that launchers wait for.
enum Ready {
    static func announce(_ fields: String) { line("ready atrest-echo \(fields)") }

    static func line(_ text: String) {
        print(text)
        fflush(nil)
    }
}

/// Waits for SIGTERM or SIGINT.
enum Signals {
    static func waitForTermination() async {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            for source in sources {
                source.setEventHandler { if once.claim() { continuation.resume() } }
                source.resume()
            }
        }
        for source in sources { source.cancel() }
    }
}

/// True for the first caller only.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}
