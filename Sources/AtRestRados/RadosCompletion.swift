internal import CRados

/// One librados completion: what an aio call reports (return value and the
/// object's version), waited for either by blocking the calling thread
/// (`wait`) or by suspending a task (`awaitResult`) — librados' finisher
/// thread resumes it, so no thread of the cooperative pool ever blocks.
struct RadosCompletion {
    var returnValue: Int32
    var version: UInt64

    /// Submits with `submit` and blocks the calling thread until librados completes it.
    static func wait(_ submit: (rados_completion_t) -> Int32) -> RadosCompletion {
        var completion: rados_completion_t?
        guard rados_aio_create_completion2(nil, nil, &completion) == 0, let completion else {
            return RadosCompletion(returnValue: -atrest_rados_enotconn, version: 0)
        }
        defer { rados_aio_release(completion) }
        let rc = submit(completion)
        if rc < 0 { return RadosCompletion(returnValue: rc, version: 0) }
        rados_aio_wait_for_complete(completion)
        return RadosCompletion(returnValue: rados_aio_get_return_value(completion), version: rados_aio_get_version(completion))
    }

    /// Submits with `submit` and suspends until librados' callback fires.
    /// `keepAlive` (e.g. a read buffer) lives until then.
    static func awaitResult(keepAlive: AnyObject? = nil, _ submit: (rados_completion_t) -> Int32) async -> RadosCompletion {
        let waiter = Waiter(keepAlive: keepAlive)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiter.continuation = continuation
            let argument = Unmanaged.passRetained(waiter).toOpaque()
            var completion: rados_completion_t?
            guard rados_aio_create_completion2(argument, Self.fired, &completion) == 0, let completion else {
                Unmanaged<Waiter>.fromOpaque(argument).release()
                waiter.submitResult = -atrest_rados_enotconn
                continuation.resume()
                return
            }
            waiter.completion = completion
            let rc = submit(completion)
            if rc < 0 {
                // Not submitted: the callback will not fire.
                Unmanaged<Waiter>.fromOpaque(argument).release()
                waiter.submitResult = rc
                continuation.resume()
            }
        }
        guard let completion = waiter.completion else { return RadosCompletion(returnValue: waiter.submitResult, version: 0) }
        defer { rados_aio_release(completion) }
        if waiter.submitResult < 0 { return RadosCompletion(returnValue: waiter.submitResult, version: 0) }
        return RadosCompletion(returnValue: rados_aio_get_return_value(completion), version: rados_aio_get_version(completion))
    }

    /// librados' completion callback (on its finisher thread): resumes the waiting task.
    /// The callback's reference to the waiter is dropped before the task
    /// resumes (the task holds its own until `awaitResult` returns), so the
    /// last release of what the waiter keeps alive happens on the task's
    /// side, never on librados' thread (see `RadosBlocking`).
    private static let fired: rados_callback_t = { _, argument in
        guard let argument else { return }
        let waiter = Unmanaged<Waiter>.fromOpaque(argument)
        let continuation = waiter.takeUnretainedValue().continuation
        waiter.release()
        continuation?.resume()
    }

    /// State shared with the callback. Written before submission, read after
    /// the continuation resumes: the submission orders the accesses.
    private final class Waiter: @unchecked Sendable {
        var continuation: CheckedContinuation<Void, Never>?
        var completion: rados_completion_t?
        var submitResult: Int32 = 0
        let keepAlive: AnyObject?
        init(keepAlive: AnyObject?) { self.keepAlive = keepAlive }
    }
}
