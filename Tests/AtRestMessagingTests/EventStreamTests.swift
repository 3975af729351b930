import AtRestMessaging
import AtRestWire
import Testing

/// PUB/SUB event streams: delivery, topic filtering, loss detection, restart.
@Suite struct EventStreamTests {
    /// The next delivery that is an event (rechecks are collected).
    static func nextEvent(_ iterator: inout AsyncStream<EventDelivery<EchoRequest>>.Iterator,
                          rechecks: inout [String]) async -> (String, EchoRequest)? {
        while let delivery = await iterator.next() {
            switch delivery {
            case .event(let topic, let event): return (topic, event)
            case .recheck(let reason): rechecks.append(reason)
            }
        }
        return nil
    }

    @Test func deliversInOrderAndFiltersTopics() async throws {
        let publisher = try EventPublisher(endpoint: "tcp://127.0.0.1:*")
        defer { publisher.close() }
        let all = try EventSubscriber<EchoRequest>(endpoint: publisher.endpoint)
        let disabledOnly = try EventSubscriber<EchoRequest>(endpoint: publisher.endpoint, topics: ["disabled"])
        defer { all.close(); disabledOnly.close() }
        #expect(await all.waitUntilConnected(timeout: .seconds(10)))
        #expect(await disabledOnly.waitUntilConnected(timeout: .seconds(10)))
        publisher.publish(topic: "rotated", EchoRequest(text: "k1"))
        publisher.publish(topic: "disabled", EchoRequest(text: "k2"))
        var rechecks: [String] = []
        var iterator = all.deliveries.makeAsyncIterator()
        let first = await Self.nextEvent(&iterator, rechecks: &rechecks)
        let second = await Self.nextEvent(&iterator, rechecks: &rechecks)
        #expect(first?.0 == "rotated" && first?.1.text == "k1")
        #expect(second?.0 == "disabled" && second?.1.text == "k2")
        // Only the greeting recheck: nothing was lost.
        #expect(rechecks.count == 1 && rechecks[0].contains("connected"))
        var filtered = disabledOnly.deliveries.makeAsyncIterator()
        var ignored: [String] = []
        let only = await Self.nextEvent(&filtered, rechecks: &ignored)
        #expect(only?.0 == "disabled" && only?.1.text == "k2")
    }

    @Test func aMissedEventTriggersARecheck() async throws {
        let publisher = try EventPublisher(endpoint: "tcp://127.0.0.1:*")
        defer { publisher.close() }
        // Subscribed to "b" only: the "a" events are filtered at the publisher,
        // which this subscriber sees as a gap in the sequence.
        let subscriber = try EventSubscriber<EchoRequest>(endpoint: publisher.endpoint, topics: ["b"])
        defer { subscriber.close() }
        #expect(await subscriber.waitUntilConnected(timeout: .seconds(10)))
        publisher.publish(topic: "a", EchoRequest(text: "lost"))
        publisher.publish(topic: "b", EchoRequest(text: "seen"))
        var rechecks: [String] = []
        var iterator = subscriber.deliveries.makeAsyncIterator()
        let event = await Self.nextEvent(&iterator, rechecks: &rechecks)
        #expect(event?.1.text == "seen")
        #expect(rechecks.contains { $0.contains("missed 1 event") })
    }

    @Test func periodicRecheckAndPublisherRestart() async throws {
        let first = try EventPublisher(endpoint: "tcp://127.0.0.1:*")
        let endpoint = first.endpoint
        let subscriber = try EventSubscriber<EchoRequest>(
            endpoint: endpoint, configuration: EventSubscriberConfiguration(recheckInterval: .milliseconds(200)))
        defer { subscriber.close() }
        #expect(await subscriber.waitUntilConnected(timeout: .seconds(10)))
        var iterator = subscriber.deliveries.makeAsyncIterator()
        var reasons: [String] = []
        while !reasons.contains(where: { $0.contains("periodic") }), let delivery = await iterator.next() {
            if case .recheck(let reason) = delivery { reasons.append(reason) }
        }
        #expect(reasons.contains { $0.contains("periodic") })
        first.close()
        // A new publisher on the same port: the subscriber reconnects by itself.
        // libzmq releases the port on its I/O thread after close, so the
        // rebind may need a few tries.
        var bound: EventPublisher?
        for _ in 0..<200 where bound == nil {
            bound = try? EventPublisher(endpoint: endpoint)
            if bound == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let second = try #require(bound)
        defer { second.close() }
        var restarted = false
        while !restarted, let delivery = await iterator.next() {
            if case .recheck(let reason) = delivery, reason.contains("restarted") { restarted = true }
        }
        #expect(restarted)
        second.publish(topic: "enabled", EchoRequest(text: "after restart"))
        var rechecks: [String] = []
        let event = await Self.nextEvent(&iterator, rechecks: &rechecks)
        #expect(event?.1.text == "after restart")
    }
}
