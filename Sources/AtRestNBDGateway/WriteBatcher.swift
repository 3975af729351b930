import Synchronization

/// Gathers the small writes an NBD client has in flight at once into
/// PutPageRanges calls: a block device keeps up to its queue depth of
/// 4 KiB writes outstanding, and one call each costs the services their
/// whole per-call path each time (docs/BENCHMARKS.md "NBD disks").
///
/// At most `maxCalls` calls are in flight; a write that arrives while they
/// all are waits for the next one to end, then goes with every write
/// queued by then (in arrival order, up to `DiskMethod.maxIO` bytes and
/// `maxRanges` ranges, leaving for the next call a write that overlaps one
/// already taken: a call's ranges never overlap). Each write is answered
/// when the call that carried it returns, so a write is still acknowledged
/// only once durable and FLUSH has nothing to wait for. A call of one write
/// is a plain PutPages. When a call of several fails, each of its writes is
/// sent again alone (writes are idempotent), so each gets its own answer;
/// a service without PutPageRanges (UNIMPLEMENTED, an older worker) turns
/// batching off for this export.
final class WriteBatcher: Sendable {
    typealias Write = (offset: UInt64, data: [UInt8])

    /// Sends several writes in one call (PutPageRanges).
    let sendMany: @Sendable ([Write]) async throws -> Void
    /// Sends one write (PutPages).
    let sendOne: @Sendable (Write) async throws -> Void
    /// Whether an error of `sendMany` means the service lacks the method.
    let isUnimplemented: @Sendable (any Error) -> Bool
    let maxCalls: Int
    let maxBytes: Int
    let maxRanges: Int

    private struct Waiting {
        var write: Write
        var done: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queued: [Waiting] = []
        var calls = 0
        var batching = true
    }

    private let state = Mutex(State())

    init(maxCalls: Int, maxBytes: Int, maxRanges: Int,
         sendMany: @escaping @Sendable ([Write]) async throws -> Void, sendOne: @escaping @Sendable (Write) async throws -> Void,
         isUnimplemented: @escaping @Sendable (any Error) -> Bool) {
        precondition(maxCalls >= 1 && maxRanges >= 1 && maxBytes >= 1)
        self.maxCalls = maxCalls
        self.maxBytes = maxBytes
        self.maxRanges = maxRanges
        self.sendMany = sendMany
        self.sendOne = sendOne
        self.isUnimplemented = isUnimplemented
    }

    /// Writes waiting for a call (for tests).
    var waiting: Int { state.withLock { $0.queued.count } }

    /// Writes `data` at `offset` with the writes in flight beside it; returns once it is durable.
    func write(offset: UInt64, data: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let starts = state.withLock { state in
                state.queued.append(Waiting(write: (offset, data), done: done))
                guard state.calls < maxCalls else { return false }
                state.calls += 1
                return true
            }
            if starts { Task { await self.sendQueued() } }
        }
    }

    /// One of the `maxCalls` senders: sends what is queued, call after call, until nothing is.
    private func sendQueued() async {
        while true {
            let (batch, batching) = state.withLock { state -> ([Waiting], Bool) in
                let batch = take(&state.queued)
                if batch.isEmpty { state.calls -= 1 }
                return (batch, state.batching)
            }
            if batch.isEmpty { return }
            await send(batch, batching: batching)
        }
    }

    /// The first queued writes that go in one call (in order, skipping those that overlap one taken), removed from `queued`.
    private func take(_ queued: inout [Waiting]) -> [Waiting] {
        var taken: [Waiting] = [], left: [Waiting] = [], bytes = 0
        var ranges: [Range<UInt64>] = []
        for waiting in queued {
            let range = waiting.write.offset ..< waiting.write.offset + UInt64(waiting.write.data.count)
            if taken.count < maxRanges, bytes + waiting.write.data.count <= maxBytes || taken.isEmpty,
               !ranges.contains(where: { $0.overlaps(range) }) {
                taken.append(waiting)
                ranges.append(range)
                bytes += waiting.write.data.count
            } else {
                left.append(waiting)
            }
        }
        queued = left
        return taken
    }

    private func send(_ batch: [Waiting], batching: Bool) async {
        if batch.count > 1, batching {
            do {
                try await sendMany(batch.map(\.write))
                for waiting in batch { waiting.done.resume() }
                return
            } catch {
                if isUnimplemented(error) { state.withLock { $0.batching = false } }
            }
        }
        // One write, batching off, or a failed call of several: each alone, for its own answer.
        await withTaskGroup(of: Void.self) { group in
            for waiting in batch {
                group.addTask {
                    do {
                        try await self.sendOne(waiting.write)
                        waiting.done.resume()
                    } catch {
                        waiting.done.resume(throwing: error)
                    }
                }
            }
        }
    }
}

