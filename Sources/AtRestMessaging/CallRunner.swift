import AtRestWire
import Logging
import Synchronization

/// Runs requests on an `RPCService` for a poll loop and tracks their
/// deadlines.
///
/// Each call is one `Task` (the hop into Swift concurrency), started by the
/// loop; the task sends its reply itself through the thread-safe `send`
/// (a `SharedSocket`), so there is no hop back to the loop. A call that
/// outlives its deadline is answered DEADLINE_EXCEEDED by the loop, its task
/// cancelled, and its late result dropped: whoever removes the call's entry
/// first answers it, so a call gets exactly one reply. A call whose deadline
/// has already passed is not started.
final class CallRunner: Sendable {
    /// Sends one reply message (already framed); safe from any thread.
    typealias Send = @Sendable ([Frame]) -> Void

    private struct Entry {
        var route: [Frame]
        var callID: [UInt8]
        var method: String
        var deadline: UInt64
        var task: Task<Void, Never>?
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextKey: UInt64 = 0
        var nextDeadline: UInt64 = .max
    }

    private let service: any RPCService
    private let logger: Logger
    private let send: Send
    private let state = SleepingLock(State())
    /// Called after a call's reply was sent or dropped, on whichever thread
    /// answered it (worker drain).
    private let onFinished: @Sendable () -> Void
    /// Start handlers on the loop thread (`Task.immediate`) instead of the pool.
    private let startsInline: Bool

    init(
        service: any RPCService, logger: Logger, startsInline: Bool = false,
        onFinished: @escaping @Sendable () -> Void = {}, send: @escaping Send
    ) {
        self.service = service
        self.logger = logger
        self.startsInline = startsInline
        self.onFinished = onFinished
        self.send = send
    }

    var inFlight: Int { state.withLock { $0.entries.count } }

    /// Starts `request`, to be answered by `deadline` (monotonic ns). Loop thread.
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
        let rpc = request.rpcRequest(deadline: deadline)
        let entry = Entry(
            route: request.route, callID: callID, method: request.header.method, deadline: deadline, task: nil)
        let key = state.withLock { state -> UInt64 in
            state.nextKey &+= 1
            state.entries[state.nextKey] = entry
            state.nextDeadline = min(state.nextDeadline, deadline)
            return state.nextKey
        }
        let service = self.service
        let task: Task<Void, Never>
        if startsInline {
            // Runs here, on the loop thread, until the handler first suspends;
            // a handler that never does answers with no thread hand-off at all.
            task = Task.immediate { [self] in finish(key, await CallRunner.run(service, rpc)) }
        } else {
            task = Task { [self] in finish(key, await CallRunner.run(service, rpc)) }
        }
        state.withLock { state in
            // Still there unless the call already finished (inline) or expired.
            state.entries[key]?.task = task
        }
    }

    private static func run(_ service: any RPCService, _ rpc: RPCRequest) async -> Result<RPCResponse, any Error> {
        do {
            return .success(try await service.handle(rpc))
        } catch {
            return .failure(error)
        }
    }

    /// Answers a call with its handler's result (the handler's thread).
    private func finish(_ key: UInt64, _ result: Result<RPCResponse, any Error>) {
        guard let entry = state.withLock({ $0.entries.removeValue(forKey: key) }) else {
            // Already answered (deadline) or cancelled (shutdown): the result is dropped,
            // but a handler that finished still gets its bookkeeping run.
            if case .success(let response) = result { response.afterReply?() }
            return
        }
        switch result {
        case .success(let response):
            send(Envelope.reply(
                route: entry.route, header: ReplyHeader(callID: entry.callID), body: response.body,
                payload: response.parts))
            response.afterReply?()
        case .failure(let error):
            let status = CallRunner.status(for: error, method: entry.method, logger: logger)
            send(Envelope.reply(route: entry.route, header: ReplyHeader(callID: entry.callID, status: status)))
        }
        onFinished()
    }

    /// Answers calls past their deadline; returns ms until the next deadline.
    func expire(now: UInt64) -> Int {
        var expired: [Entry] = []
        let next = state.withLock { state -> UInt64 in
            if now >= state.nextDeadline {
                state.nextDeadline = .max
                for (key, entry) in state.entries {
                    if entry.deadline <= now {
                        state.entries[key] = nil
                        expired.append(entry)
                    } else {
                        state.nextDeadline = min(state.nextDeadline, entry.deadline)
                    }
                }
            }
            return state.nextDeadline
        }
        for entry in expired {
            entry.task?.cancel()
            logger.info("call overran its deadline", metadata: ["method": "\(entry.method)"])
            send(Envelope.reply(route: entry.route, header: ReplyHeader(
                callID: entry.callID,
                status: RPCStatus(.deadlineExceeded, "\(entry.method) did not finish within its deadline"))))
            onFinished()
        }
        return next == .max ? -1 : Int((next - now + 999_999) / 1_000_000)
    }

    /// Cancels everything (shutdown); no replies are sent.
    func cancelAll() {
        let entries = state.withLock { state -> [Entry] in
            defer { state.entries.removeAll() }
            return Array(state.entries.values)
        }
        for entry in entries { entry.task?.cancel() }
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

/// Like `UncheckedBox`, without keeping the object alive.
struct UncheckedWeakBox<T: AnyObject>: @unchecked Sendable {
    weak var value: T?
    init(_ value: T) { self.value = value }
}
