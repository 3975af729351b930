@testable import AtRestNBDGateway
import Synchronization
import Testing

/// `WriteBatcher`'s gathering, on closures that record the calls it makes
/// (the calls themselves, PutPageRanges and PutPages through the real
/// services, are `DiskEndToEndTests`' and `NBDDiskTests`' to check): what
/// waits while the calls are in flight goes together in the next call, in
/// order, without overlaps and within the limits; a failed call of several
/// is sent again write by write, each with its own answer; UNIMPLEMENTED
/// turns gathering off.
@Suite struct WriteBatcherTests {
    struct Unimplemented: Error {}
    struct Refused: Error {}

    /// The calls made, and a gate each call waits at until the test opens it.
    final class Service: Sendable {
        enum Call: Equatable { case many([UInt64]), one(UInt64) }
        let calls = Mutex<[Call]>([])
        let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        let failMany = Mutex<(any Error & Sendable)?>(nil)
        let refusedOffsets = Mutex<Set<UInt64>>([])

        func pass() async {
            await withCheckedContinuation { continuation in
                let open = gate.withLock { gate in
                    if !gate.open { gate.waiters.append(continuation) }
                    return gate.open
                }
                if open { continuation.resume() }
            }
        }

        func open() {
            for waiter in gate.withLock({ gate in
                gate.open = true
                defer { gate.waiters = [] }
                return gate.waiters
            }) { waiter.resume() }
        }

        func batcher(maxCalls: Int = 1, maxBytes: Int = 4 << 20, maxRanges: Int = 1024) -> WriteBatcher {
            WriteBatcher(maxCalls: maxCalls, maxBytes: maxBytes, maxRanges: maxRanges,
                         sendMany: { writes in
                             self.calls.withLock { $0.append(.many(writes.map(\.offset))) }
                             await self.pass()
                             if let error = self.failMany.withLock({ $0 }) { throw error }
                         },
                         sendOne: { write in
                             self.calls.withLock { $0.append(.one(write.offset)) }
                             await self.pass()
                             if self.refusedOffsets.withLock({ $0.contains(write.offset) }) { throw Refused() }
                         },
                         isUnimplemented: { $0 is Unimplemented })
        }
    }

    /// Starts a write of `count` bytes at `offset`; its outcome when it ends.
    static func start(_ batcher: WriteBatcher, _ offset: UInt64, _ count: Int = 4096) -> Task<Bool, Never> {
        Task { (try? await batcher.write(offset: offset, data: [UInt8](repeating: 1, count: count))) != nil }
    }

    /// Waits until `count` writes wait for a call.
    static func waiting(_ batcher: WriteBatcher, _ count: Int) async throws {
        for _ in 0..<2000 where batcher.waiting != count { try await Task.sleep(for: .milliseconds(1)) }
        #expect(batcher.waiting == count)
    }

    @Test func writesArrivingDuringACallGoTogetherInTheNext() async throws {
        let service = Service()
        let batcher = service.batcher(maxCalls: 1, maxRanges: 4)
        let first = Self.start(batcher, 0)
        try await Self.waiting(batcher, 0)
        for _ in 0..<2000 where service.calls.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(1)) }
        // In flight: the first write alone. Then six more, one overlapping the second.
        var rest: [Task<Bool, Never>] = []
        for offset: UInt64 in [8192, 10240, 16384, 20480, 24576, 28672] {
            rest.append(Self.start(batcher, offset))
            try await Self.waiting(batcher, rest.count)
        }
        service.open()
        #expect(await first.value)
        for task in rest { #expect(await task.value) }
        // 10240 overlaps 8192..12288 and waits for the call after; four ranges at most per call.
        #expect(service.calls.withLock { $0 } == [.one(0), .many([8192, 16384, 20480, 24576]), .many([10240, 28672])])
    }

    @Test func aFailedCallOfSeveralIsSentAgainWriteByWrite() async throws {
        let service = Service()
        service.failMany.withLock { $0 = Refused() }
        service.refusedOffsets.withLock { $0 = [4096] }
        let batcher = service.batcher(maxCalls: 1)
        let first = Self.start(batcher, 0)
        for _ in 0..<2000 where service.calls.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(1)) }
        // One after the other: two tasks started together may arrive in either order.
        let second = Self.start(batcher, 4096)
        try await Self.waiting(batcher, 1)
        let third = Self.start(batcher, 8192)
        try await Self.waiting(batcher, 2)
        service.open()
        let outcomes = [await first.value, await second.value, await third.value]
        #expect(outcomes == [true, false, true], "each write gets its own answer")
        let calls = service.calls.withLock { $0 }
        #expect(calls.count == 4 && calls[0] == .one(0) && calls[1] == .many([4096, 8192]))
        #expect(Set(calls[2...].map { "\($0)" }) == ["one(4096)", "one(8192)"])
    }

    @Test func unimplementedTurnsGatheringOff() async throws {
        let service = Service()
        service.failMany.withLock { $0 = Unimplemented() }
        service.open()
        let batcher = service.batcher(maxCalls: 1)
        service.gate.withLock { $0.open = false }
        let first = Self.start(batcher, 0)
        for _ in 0..<2000 where service.calls.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(1)) }
        var queued = [Self.start(batcher, 4096)]
        try await Self.waiting(batcher, 1)
        queued.append(Self.start(batcher, 8192))
        try await Self.waiting(batcher, 2)
        service.open()
        #expect(await first.value)
        for task in queued { #expect(await task.value) }
        // Later writes that wait together go one by one now.
        service.gate.withLock { $0.open = false }
        let next = Self.start(batcher, 0)
        for _ in 0..<2000 where service.calls.withLock({ $0.count < 5 }) { try await Task.sleep(for: .milliseconds(1)) }
        var more = [Self.start(batcher, 4096)]
        try await Self.waiting(batcher, 1)
        more.append(Self.start(batcher, 8192))
        try await Self.waiting(batcher, 2)
        service.open()
        #expect(await next.value)
        for task in more { #expect(await task.value) }
        let calls = service.calls.withLock { $0 }
        #expect(calls.filter { if case .many = $0 { true } else { false } } == [.many([4096, 8192])], "\(calls)")
        #expect(calls.count == 7)
    }

    @Test func aLargeWriteGoesAloneAndTheBytesLimitSplits() async throws {
        let service = Service()
        let batcher = service.batcher(maxCalls: 1, maxBytes: 12288)
        let first = Self.start(batcher, 0)
        for _ in 0..<2000 where service.calls.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(1)) }
        var rest: [Task<Bool, Never>] = []
        for (offset, count) in [(UInt64(1 << 20), 16384), (65536, 4096), (73728, 8192), (90112, 4096)] {
            rest.append(Self.start(batcher, offset, count))
            try await Self.waiting(batcher, rest.count)
        }
        service.open()
        #expect(await first.value)
        for task in rest { #expect(await task.value) }
        // Over the limit alone goes alone; then 4096 + 8192 fill 12288 and the last waits.
        #expect(service.calls.withLock { $0 } == [.one(0), .one(1 << 20), .many([65536, 73728]), .one(90112)])
    }
}
