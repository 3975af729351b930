import Synchronization

/// Bytes of data in flight through one cluster handle's aio calls.
/// librados' own bound (`objecter_inflight_op_bytes`, 100 MiB by default)
/// blocks the *calling thread* inside the aio call until earlier ops
/// complete, which would block a thread of Swift's cooperative pool; so
/// `RadosCluster` sets that bound to twice `limit`, and every data-carrying
/// aio call first takes its bytes from this budget, suspending its task
/// (not a thread) while the budget is spent. An op larger than the whole
/// budget takes all of it.
final class RadosByteBudget: Sendable {
    let limit: Int
    private let state = Mutex<(used: Int, waiting: [(bytes: Int, continuation: CheckedContinuation<Void, Never>)])>((0, []))

    init(limit: Int) {
        precondition(limit > 0, "the in-flight byte budget must be positive")
        self.limit = limit
    }

    /// Runs `body` holding `bytes` of the budget (waiting for them first).
    func spending<T>(_ bytes: Int, _ body: () async throws -> T) async rethrows -> T {
        let bytes = min(bytes, limit)
        guard bytes > 0 else { return try await body() }
        await acquire(bytes)
        defer { release(bytes) }
        return try await body()
    }

    private func acquire(_ bytes: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.waiting.isEmpty, state.used + bytes <= limit {
                    state.used += bytes
                    return true
                }
                state.waiting.append((bytes, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func release(_ bytes: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.used -= bytes
            var ready: [CheckedContinuation<Void, Never>] = []
            // First come, first served: a large op is not passed over by small ones forever.
            while let next = state.waiting.first, state.used + next.bytes <= limit {
                state.used += next.bytes
                ready.append(next.continuation)
                state.waiting.removeFirst()
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }
}
