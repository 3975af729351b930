import AtRestCrypto
import AtRestWire
import Synchronization
import Testing
@testable import AtRestIdentity
import AtRestTokens

/// Unknown kids: one shared, rate-limited key-set fetch, then UNAUTHENTICATED `unknownKid`.
@Suite struct KeyRefreshTests {
    /// A verifier whose fetch waits for `gate` (so callers can pile up on it) and counts itself.
    struct Setup {
        let h: Harness
        let verifier: TokenVerifier
        let fetches = Counter()
        let forged: String

        init(interval: Int64 = 1, gate: AsyncGate? = nil) async throws {
            let h = try await Harness()
            self.h = h
            let keys = await h.keys()
            let service = h.service
            let fetches = fetches
            let clock = ClockBox()
            verifier = try TokenVerifier(
                configuration: .init(issuer: "atrest-identity", audience: "atrest", minRefreshIntervalSeconds: interval, cacheCapacity: 0),
                keys: keys.keys, now: { h.clock.now() }, refreshClock: { clock.millis },
                refresh: {
                    fetches.increment()
                    await gate?.wait()
                    return await service.keySet()
                })
            self.clock = clock
            let claims = try verifier.verifyWithKnownKeys(try await h.adminToken())
            forged = try CompactJWS.sign(claims, kid: "kForged", key: try Ed25519.PrivateKey())
        }

        let clock: ClockBox
    }

    @Test func callersMeetingANewKidWhileItIsFetchedWaitForThatFetch() async throws {
        let gate = AsyncGate()
        let s = try await Setup(gate: gate)
        let verifier = s.verifier
        // The identity rotates: tokens now carry a kid the verifier has not seen.
        let admin = try await s.h.adminToken()
        let _: IdentityRotation = try await s.h.call("RotateSigningKey", EmptyMessage(), token: admin)
        let fresh = try await s.h.adminToken()
        let forged = s.forged
        let finished = Counter()
        let (valid, invalid) = try await withThrowingTaskGroup(of: (Bool, RPCStatus?).self) { group in
            for index in 0..<20 {
                let token = index % 2 == 0 ? fresh : forged
                group.addTask {
                    defer { finished.increment() }
                    do {
                        _ = try await verifier.verify(token)
                        return (true, nil)
                    } catch let status as RPCStatus {
                        return (false, status)
                    }
                }
            }
            // Let every caller reach the one fetch before it may finish.
            while s.fetches.value == 0 { await Task.yield() }
            for _ in 0..<200 { await Task.yield() }
            // Nobody gave up while the fetch that may bring their kid was running.
            #expect(finished.value == 0)
            gate.open()
            return try await group.reduce(into: (0, [RPCStatus]())) { result, next in
                if next.0 { result.0 += 1 } else if let status = next.1 { result.1.append(status) }
            }
        }
        #expect(s.fetches.value == 1)
        #expect(valid == 10)
        #expect(invalid.count == 10)
        #expect(invalid.allSatisfy { $0.code == .unauthenticated && $0.details["reason"] == "unknownKid" })
    }

    /// The race CI met: a caller finds the kid unknown, a fetch that brings it
    /// finishes, and only then does the caller ask for a refresh. Within the
    /// interval that used to answer "rate limited", so a valid token was
    /// refused as `unknownKid`; now the ask sees the kid and verifies again.
    @Test func aCallerThatLostTheRaceWithAFinishedFetchVerifiesAgainInsteadOfBeingRateLimited() async throws {
        let s = try await Setup(interval: 60)
        let admin = try await s.h.adminToken()
        let _: IdentityRotation = try await s.h.call("RotateSigningKey", EmptyMessage(), token: admin)
        let fresh = try await s.h.adminToken()
        let kid = try CompactJWS.parse(fresh, maxBytes: 8192).kid
        #expect(!s.verifier.knownKids.contains(kid))
        guard case .running(let fetch) = s.verifier.refreshKeys() else {
            Issue.record("no fetch started")
            return
        }
        try await fetch.value
        // The fetch brought the kid; the interval has not passed.
        guard case .known = s.verifier.refreshKeys(unlessKnown: kid) else {
            Issue.record("a kid the finished fetch brought was not reported known")
            return
        }
        guard case .rateLimited(failed: false) = s.verifier.refreshKeys(unlessKnown: "kForged") else {
            Issue.record("an unknown kid within the interval was not rate limited")
            return
        }
        _ = try s.verifier.verifyOrStartRefresh(fresh)
        #expect(s.fetches.value == 1)
    }

    @Test func theBrokerPathAnswersRetryThenUnknownKidAndRefreshesAtMostOncePerInterval() async throws {
        let s = try await Setup(interval: 1)
        // First sight: the fetch starts; the call is answered "retry" (it was not started).
        let first = await status { _ = try s.verifier.verifyOrStartRefresh(s.forged) }
        #expect(first?.code == .unavailable)
        #expect(first?.details["reason"] == "keyRefresh")
        #expect((first?.retryAfterMs ?? 0) > 0)
        if case .running(let fetch) = s.verifier.refreshKeys() { try await fetch.value }
        // The fetch did not bring the kid: UNAUTHENTICATED, without another fetch, for the rest of the interval.
        for _ in 0..<5 {
            let again = await status { _ = try s.verifier.verifyOrStartRefresh(s.forged) }
            #expect(again?.code == .unauthenticated)
            #expect(again?.details["reason"] == "unknownKid")
            let viaVerify = await status { _ = try await s.verifier.verify(s.forged) }
            #expect(viaVerify?.details["reason"] == "unknownKid")
        }
        #expect(s.fetches.value == 1)
        s.clock.advance(999)
        _ = await status { _ = try await s.verifier.verify(s.forged) }
        #expect(s.fetches.value == 1)
        // A second later the next fetch is allowed (a rotation is picked up within about a second).
        s.clock.advance(1)
        let later = await status { _ = try await s.verifier.verify(s.forged) }
        #expect(later?.details["reason"] == "unknownKid")
        #expect(s.fetches.value == 2)
    }
}

final class ClockBox: Sendable {
    private let value = Mutex<Int64>(0)
    var millis: Int64 { value.withLock { $0 } }
    func advance(_ ms: Int64) { value.withLock { $0 += ms } }
}

/// Blocks waiters until `open()`.
final class AsyncGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
