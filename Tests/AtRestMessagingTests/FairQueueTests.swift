@testable import AtRestMessaging
import Testing

/// The broker's per-client queue and reply backlog as plain structs.
@Suite("Fair call queue and reply backlog")
struct FairQueueTests {
    struct Item: FairlyQueued, Equatable {
        var client: [UInt8]
        var n: Int
        var queuedBytes: Int = 10
    }

    static let roomy = FairCallQueue<Item>.Limits(callsPerClient: 100_000, queuedBytesPerClient: 1 << 30, totalQueued: 100_000)

    @Test func aSecondClientIsServedNextHoweverManyTheFirstQueued() {
        var queue = FairCallQueue<Item>(limits: Self.roomy)
        for n in 0..<10_000 { queue.append(Item(client: [1], n: n)) }
        #expect(queue.popFirst()?.n == 0)
        queue.append(Item(client: [2], n: -1))
        // One more of client 1 at most (it was already in the round), then client 2.
        let next = [queue.popFirst()!, queue.popFirst()!].map(\.client)
        #expect(next.contains([2]))
        #expect(queue.count == 9_998)
    }

    @Test func roundRobinKeepsEachClientsOrder() {
        var queue = FairCallQueue<Item>(limits: Self.roomy)
        for n in 0..<3 { queue.append(Item(client: [1], n: n)) }
        for n in 0..<2 { queue.append(Item(client: [2], n: n)) }
        queue.append(Item(client: [3], n: 0))
        var order: [String] = []
        while let item = queue.popFirst() { order.append("\(item.client[0]).\(item.n)") }
        #expect(order == ["1.0", "2.0", "3.0", "1.1", "2.1", "1.2"])
        #expect(queue.isEmpty)
    }

    @Test func pushFrontGoesFirstInItsLaneAndTheRound() {
        var queue = FairCallQueue<Item>(limits: Self.roomy)
        queue.append(Item(client: [1], n: 0))
        queue.append(Item(client: [2], n: 0))
        let first = queue.popFirst()!
        let second = queue.popFirst()!
        queue.append(Item(client: [1], n: 1))
        queue.pushFront(second)  // client 2's call came back from a dead worker
        #expect(queue.popFirst() == second)
        #expect(queue.popFirst()?.n == 1)
        #expect(first.client == [1])
    }

    @Test func outstandingCallsOfAClientAreBoundedUntilFinished() {
        var queue = FairCallQueue<Item>(limits: .init(callsPerClient: 2, queuedBytesPerClient: 1 << 20, totalQueued: 100))
        queue.append(Item(client: [1], n: 0))
        queue.append(Item(client: [1], n: 1))
        #expect(queue.refusal(client: [1], bytes: 10) == .clientCalls)
        #expect(queue.refusal(client: [2], bytes: 10) == nil)
        _ = queue.popFirst()
        // Dispatched but not answered: still counts.
        #expect(queue.refusal(client: [1], bytes: 10) == .clientCalls)
        queue.finished([1])
        #expect(queue.refusal(client: [1], bytes: 10) == nil)
        _ = queue.popFirst()
        queue.finished([1])
        #expect(queue.clients == 0)  // a client with nothing outstanding is forgotten
    }

    @Test func queuedBytesAndTheTotalAreBounded() {
        var queue = FairCallQueue<Item>(limits: .init(callsPerClient: 100, queuedBytesPerClient: 100, totalQueued: 3))
        #expect(queue.refusal(client: [1], bytes: 500) == nil)  // the first call always fits
        queue.append(Item(client: [1], n: 0, queuedBytes: 60))
        #expect(queue.refusal(client: [1], bytes: 50) == .clientBytes)
        #expect(queue.refusal(client: [1], bytes: 40) == nil)
        queue.append(Item(client: [2], n: 0))
        queue.append(Item(client: [3], n: 0))
        #expect(queue.refusal(client: [4], bytes: 1) == .total)
        _ = queue.popFirst()  // client 1's: its bytes are no longer queued
        #expect(queue.refusal(client: [1], bytes: 90) == nil)
    }

    @Test func removeAllFinishesTheRemovedAndKeepsTheRound() {
        var queue = FairCallQueue<Item>(limits: Self.roomy)
        for n in 0..<4 { queue.append(Item(client: [1], n: n)) }
        queue.append(Item(client: [2], n: 0))
        let removed = queue.removeAll { $0.client == [1] && $0.n % 2 == 0 }
        #expect(removed.map(\.n) == [0, 2])
        #expect(queue.count == 3)
        #expect(queue.outstanding([1]) == 2)
        let second = queue.removeAll { $0.client == [2] }
        #expect(second.count == 1)
        #expect(queue.clients == 1)
        var order: [Int] = []
        while let item = queue.popFirst() { order.append(item.n) }
        #expect(order == [1, 3])
    }

    @Test func backlogRetriesThenDropsAClientThatMakesNoProgress() {
        var backlog = ReplyBacklog<Int>(limits: .init(bytesPerClient: 100, timeout: 1_000))
        let parked = [
            backlog.park(1, bytes: 60, client: [1], now: 0),
            backlog.park(2, bytes: 60, client: [1], now: 0),  // over the client's budget
            backlog.park(3, bytes: 30, client: [1], now: 0),
            backlog.park(4, bytes: 500, client: [2], now: 0),  // one reply always fits
        ]
        #expect(parked == [true, false, true, true])
        var sent: [Int] = []
        // Client 2 reads one; client 1 none.
        var (went, expired) = backlog.retry(now: 500) { client, message in
            guard client == [2] else { return false }
            sent.append(message)
            return true
        }
        #expect(sent == [4] && went == 1 && expired.isEmpty)
        #expect(backlog.bytes(for: [1]) == 90)
        (went, expired) = backlog.retry(now: 1_000) { _, _ in false }
        #expect(went == 0)
        #expect(expired.map(\.dropped) == [2])
        #expect(backlog.isEmpty)
        #expect(backlog.dropped == 3)
    }
}
