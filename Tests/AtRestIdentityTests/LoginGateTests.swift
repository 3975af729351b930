import AtRestWire
import Testing
@testable import AtRestIdentity
import AtRestTokens
@testable import AtRestLoginGate

/// Password hashing slots: per connection and in total for forwarded logins, apart for direct ones.
@Suite struct LoginGateTests {
    func policy() -> LoginGate.Policy {
        var policy = LoginGate.Policy()
        policy.maxPublic = 2
        policy.maxPerSource = 1
        policy.maxDirect = 1
        policy.retryAfterMs = 750
        return policy
    }

    @Test func forwardedLoginsAreBoundedPerSourceAndInTotalDirectOnesApart() throws {
        let gate = LoginGate(policy: policy())
        let a = try gate.admit(.forwarded(source: "a"))
        // Same connection again: over its share.
        let perSource = #expect(throws: RPCStatus.self) { _ = try gate.admit(.forwarded(source: "a")) }
        #expect(perSource?.code == .resourceExhausted)
        #expect(perSource?.retryAfterMs == 750)
        let b = try gate.admit(.forwarded(source: "b"))
        // Two running: a third connection is over the total.
        #expect(throws: RPCStatus.self) { _ = try gate.admit(.forwarded(source: "c")) }
        // Services on the identity's own endpoint still get their slot.
        let direct = try gate.admit(.direct)
        #expect(throws: RPCStatus.self) { _ = try gate.admit(.direct) }
        #expect(Set([a, b, direct]).count == 3)
        gate.release(.forwarded(source: "a"), slot: a)
        let c = try gate.admit(.forwarded(source: "c"))
        gate.release(.forwarded(source: "b"), slot: b)
        gate.release(.forwarded(source: "c"), slot: c)
        gate.release(.direct, slot: direct)
        #expect(gate.running == (0, 0))
    }

    @Test func theLaneComesFromTheFrontDoorsMark() {
        var header = RPCHeader(method: LoginGate.loginMethod, callID: [1])
        #expect(LoginGate.lane(header) == .direct)
        header.metadata[LoginGate.sourceMetadataKey] = "0a0b"
        #expect(LoginGate.lane(header) == .forwarded(source: "0a0b"))
    }

    @Test func runUsesASlotAndGivesItBack() async throws {
        let gate = LoginGate(policy: policy())
        let value = try await gate.run(.forwarded(source: "a")) { 42 }
        #expect(value == 42)
        #expect(gate.running == (0, 0))
    }
}

/// Service logins on the identity's own endpoint wait for a slot instead of being refused.
@Suite struct LoginGateDirectLaneTests {
    @Test func directLoginsWaitInOrderAndACancelledWaiterLeavesNoTrace() async throws {
        var policy = LoginGate.Policy()
        policy.maxDirect = 1
        policy.maxDirectWaiting = 2
        let gate = LoginGate(policy: policy)
        let first = try await gate.waitForDirectSlot()
        let second = Task { try await gate.waitForDirectSlot() }
        let third = Task { try await gate.waitForDirectSlot() }
        // Both queue behind the one slot instead of being refused.
        while gate.waiting < 2 { await Task.yield() }
        // The waiting room is bounded: one more is refused at once.
        let refused = await #expect(throws: RPCStatus.self) { _ = try await gate.waitForDirectSlot() }
        #expect(refused?.code == .resourceExhausted)
        third.cancel()
        await #expect(throws: CancellationError.self) { _ = try await third.value }
        #expect(gate.waiting == 1)
        gate.release(.direct, slot: first)
        let handedOver = try await second.value
        #expect(handedOver == first)
        #expect(gate.running == (1, 0))
        gate.release(.direct, slot: handedOver)
        #expect(gate.running == (0, 0))
        // The slot is free again for the next login.
        let again = try await gate.waitForDirectSlot()
        gate.release(.direct, slot: again)
    }
}
