import AtRestRuntime
import Synchronization

/// A `LifecycleService` for something that serves on its own threads (an
/// `RPCServer`, an `EventPublisher`): `run()` waits until `shutdown()`, which
/// calls `stop` once. So an executable's main is: build the servers, print
/// the ready line, `ServiceRunner.run([ServingService(...)])`.
public final class ServingService: LifecycleService {
    public let name: String
    private let stop: @Sendable () async -> Void
    private let state = Mutex<(stopped: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init(name: String, stop: @escaping @Sendable () async -> Void) {
        self.name = name
        self.stop = stop
    }

    public func run() async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.stopped { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    public func shutdown() async {
        let waiters: [CheckedContinuation<Void, Never>]? = state.withLock { state in
            if state.stopped { return nil }
            state.stopped = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        guard let waiters else { return }
        await stop()
        for waiter in waiters { waiter.resume() }
    }
}
