import AtRestWire

/// The direct lane's waiting room: service logins on the identity's own
/// endpoint wait in arrival order for a slot (up to `maxDirectWaiting`),
/// and leave it when their call is cancelled (its deadline passed).
extension LoginGate {
    /// A direct slot, now or when one is released (in arrival order); throws when the call is cancelled first.
    func waitForDirectSlot() async throws -> Int {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            state.asking.insert(state.nextWaiter)
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                enum Outcome { case slot(Int), cancelled, full, waiting }
                let outcome = state.withLock { state -> Outcome in
                    if state.cancelled.remove(id) != nil {
                        state.asking.remove(id)
                        return .cancelled
                    }
                    if state.direct < policy.maxDirect, let slot = state.freeSlots.popLast() {
                        state.direct += 1
                        state.asking.remove(id)
                        return .slot(slot)
                    }
                    guard state.waiters.count < policy.maxDirectWaiting else {
                        state.asking.remove(id)
                        return .full
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .waiting
                }
                switch outcome {
                case .slot(let slot): continuation.resume(returning: slot)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .full: continuation.resume(throwing: RPCStatus(
                    .resourceExhausted, "too many logins are waiting on the identity endpoint; retry after retry_after_ms",
                    retryAfterMs: policy.retryAfterMs))
                case .waiting: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    // Not queued yet: the continuation sees this; already served: nothing to do.
                    if state.asking.contains(id) { state.cancelled.insert(id) }
                    return nil
                }
                state.asking.remove(id)
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
