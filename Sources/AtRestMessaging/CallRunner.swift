import AtRestWire
import Logging

/// Runs requests on an `RPCService` for a poll loop and tracks their
/// deadlines. Confined to the loop thread.
///
/// Each call is one `Task` (the hop into Swift concurrency); its result comes
/// back through `PollLoop.submit` (the hop back), where the reply is sent on
/// the loop's socket. A call that outlives its deadline is answered
/// DEADLINE_EXCEEDED by the loop, its task cancelled, and its late result
/// dropped; a call whose deadline has already passed is not started.
final class CallRunner {
    /// Sends one reply message (already framed) on the owning socket.
    typealias Send = ([Frame]) -> Void

    private struct Entry {
        var route: [Frame]
        var callID: [UInt8]
        var method: String
        var deadline: UInt64
        var task: Task<Void, Never>?
    }

    private let loop: PollLoop
    private let service: any RPCService
    private let logger: Logger
    private let send: Send
    private var entries: [UInt64: Entry] = [:]
    private var nextKey: UInt64 = 0
    private var nextDeadline: UInt64 = .max
    /// Called after a call's reply was sent or dropped (worker credit).
    var onFinished: () -> Void = {}
    /// Start handlers on the loop thread (`Task.immediate`) instead of the pool.
    var startsInline = false

    init(loop: PollLoop, service: any RPCService, logger: Logger, send: @escaping Send) {
        self.loop = loop
        self.service = service
        self.logger = logger
        self.send = send
    }

    var inFlight: Int { entries.count }

    /// Starts `request`, to be answered by `deadline` (monotonic ns).
    func start(_ request: IncomingRequest, deadline: UInt64, now: UInt64) {
        let callID = request.header.callID
        guard deadline > now else {
            // Its caller has already given up: do not spend work on it.
            logger.debug("dropped expired request", metadata: ["method": "\(request.header.method)"])
            send(Envelope.reply(route: request.route, header: ReplyHeader(
                callID: callID, status: RPCStatus(.deadlineExceeded, "deadline passed before the call started"))))
            onFinished()
            return
        }
        nextKey &+= 1
        let key = nextKey
        let rpc = request.rpcRequest(deadline: deadline)
        let service = self.service
        let loop = self.loop
        let box = UncheckedBox(self)
        entries[key] = Entry(
            route: request.route, callID: callID, method: request.header.method, deadline: deadline, task: nil)
        nextDeadline = min(nextDeadline, deadline)
        let task: Task<Void, Never>
        if startsInline {
            // Runs here, on the loop thread, until the handler first suspends;
            // a handler that never does answers with no thread hand-off at all.
            task = Task.immediate {
                let result = await CallRunner.run(service, rpc)
                if loop.isLoopThread { box.value.finish(key, result) } else { loop.submit { box.value.finish(key, result) } }
            }
        } else {
            task = Task {
                let result = await CallRunner.run(service, rpc)
                loop.submit { box.value.finish(key, result) }
            }
        }
        entries[key]?.task = task
        nextDeadline = min(nextDeadline, deadline)
    }

    private static func run(_ service: any RPCService, _ rpc: RPCRequest) async -> Result<RPCResponse, any Error> {
        do {
            return .success(try await service.handle(rpc))
        } catch {
            return .failure(error)
        }
    }

    private func finish(_ key: UInt64, _ result: Result<RPCResponse, any Error>) {
        guard let entry = entries.removeValue(forKey: key) else { return }  // already answered (deadline)
        switch result {
        case .success(let response):
            send(Envelope.reply(
                route: entry.route, header: ReplyHeader(callID: entry.callID), body: response.body,
                payload: response.payload))
        case .failure(let error):
            let status = CallRunner.status(for: error, method: entry.method, logger: logger)
            send(Envelope.reply(route: entry.route, header: ReplyHeader(callID: entry.callID, status: status)))
        }
        onFinished()
    }

    /// Answers calls past their deadline; returns ms until the next deadline.
    func expire(now: UInt64) -> Int {
        if now >= nextDeadline {
            nextDeadline = .max
            for (key, entry) in entries {
                if entry.deadline <= now {
                    entries[key] = nil
                    entry.task?.cancel()
                    logger.info("call overran its deadline", metadata: ["method": "\(entry.method)"])
                    send(Envelope.reply(route: entry.route, header: ReplyHeader(
                        callID: entry.callID,
                        status: RPCStatus(.deadlineExceeded, "\(entry.method) did not finish within its deadline"))))
                    onFinished()
                } else {
                    nextDeadline = min(nextDeadline, entry.deadline)
                }
            }
        }
        return nextDeadline == .max ? -1 : Int((nextDeadline - now + 999_999) / 1_000_000)
    }

    /// Cancels everything (shutdown); no replies are sent.
    func cancelAll() {
        for entry in entries.values { entry.task?.cancel() }
        entries.removeAll()
    }

    /// The status a caller sees for a handler error: `RPCStatus` as thrown,
    /// cancellation as CANCELLED, anything else INTERNAL without its text
    /// (which is logged instead).
    static func status(for error: any Error, method: String, logger: Logger) -> RPCStatus {
        if let status = error as? RPCStatus { return status }
        if error is CancellationError { return RPCStatus(.cancelled, "the call was cancelled") }
        logger.error("handler failed", metadata: ["method": "\(method)", "error": "\(error)"])
        return RPCStatus(.internal, "internal error in \(method)")
    }
}

/// Carries a loop-confined object into a closure that runs back on its loop.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
