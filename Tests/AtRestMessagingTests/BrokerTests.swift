import AtRestMessaging
import AtRestWire
import Synchronization
import Testing

/// Counts calls running at once in a service.
final class ConcurrencyProbe: Sendable {
    private let state = Mutex<(now: Int, peak: Int, total: Int)>((0, 0, 0))
    func enter() { state.withLock { $0.now += 1; $0.total += 1; $0.peak = max($0.peak, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
    var total: Int { state.withLock { $0.total } }
}

struct ProbedService: RPCService {
    let inner: RPCRouter
    let probe: ConcurrencyProbe
    func handle(_ request: RPCRequest) async throws -> RPCResponse {
        probe.enter()
        defer { probe.leave() }
        return try await inner.handle(request)
    }
}

@Suite("Broker and workers over inproc")
struct BrokerTests {
    static let fast = BrokerConfiguration(
        heartbeatInterval: .milliseconds(100), liveness: 3,
        isIdempotent: { $0 == TestServices.echo })

    func makeBroker(_ configuration: BrokerConfiguration = BrokerTests.fast) throws -> Broker {
        try Broker(
            clientEndpoint: TestServices.inproc("clients"), workerEndpoint: TestServices.inproc("workers"),
            configuration: configuration)
    }

    func makeWorker(_ broker: Broker, name: String, credit: Int = 4, probe: ConcurrencyProbe? = nil) throws
        -> WorkerRuntime
    {
        let router = TestServices.router(name: name)
        let service: any RPCService = probe.map { ProbedService(inner: router, probe: $0) } ?? router
        return try WorkerRuntime(
            brokerEndpoint: broker.workerEndpoint, service: service,
            configuration: WorkerConfiguration(credit: credit, heartbeatInterval: .milliseconds(100), workerID: name))
    }

    func waitForWorkers(_ broker: Broker, _ count: Int) async throws {
        for _ in 0..<200 where await broker.stats().workers != count {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await broker.stats().workers == count)
    }

    @Test func callsReachWorkersAndUseEveryWorkerWithCredit() async throws {
        let broker = try makeBroker()
        defer { broker.close() }
        let a = try makeWorker(broker, name: "A", credit: 1)
        defer { a.close() }
        let b = try makeWorker(broker, name: "B", credit: 1)
        defer { b.close() }
        try await waitForWorkers(broker, 2)
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        let servers = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<2 {
                group.addTask {
                    try await client.call(
                        TestServices.echo, request: EchoRequest(text: "\(i)", delayMs: 200), as: EchoReply.self,
                        payload: [[UInt8(i)]]
                    ).message.servedBy
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(servers == ["A", "B"])
    }

    @Test func workerNeverRunsMoreThanItsCredit() async throws {
        let broker = try makeBroker()
        defer { broker.close() }
        let probe = ConcurrencyProbe()
        let worker = try makeWorker(broker, name: "W", credit: 2, probe: probe)
        defer { worker.close() }
        try await waitForWorkers(broker, 1)
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<6 {
                group.addTask {
                    let reply = try await client.call(
                        TestServices.echo, request: EchoRequest(text: "\(i)", delayMs: 50), as: EchoReply.self)
                    #expect(reply.message.text == "\(i)")
                }
            }
            try await group.waitForAll()
        }
        #expect(probe.total == 6)
        #expect(probe.peak == 2)
    }

    @Test func deadWorkersIdempotentCallIsRequeuedToAnother() async throws {
        let broker = try makeBroker()
        defer { broker.close() }
        let a = try makeWorker(broker, name: "A", credit: 1)
        try await waitForWorkers(broker, 1)
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        let call = Task {
            try await client.call(
                TestServices.echo, request: EchoRequest(text: "again", delayMs: 300), as: EchoReply.self,
                timeout: .seconds(10))
        }
        for _ in 0..<100 where await broker.stats().dispatched == 0 { try await Task.sleep(for: .milliseconds(5)) }
        a.close()  // dies silently, mid-call
        let b = try makeWorker(broker, name: "B", credit: 1)
        defer { b.close() }
        let reply = try await call.value
        #expect(reply.message.servedBy == "B")
        #expect(reply.message.text == "again")
    }

    @Test func deadWorkersNonIdempotentCallFailsUnavailable() async throws {
        var configuration = BrokerTests.fast
        configuration.isIdempotent = { _ in false }
        let broker = try makeBroker(configuration)
        defer { broker.close() }
        let a = try makeWorker(broker, name: "A", credit: 1)
        try await waitForWorkers(broker, 1)
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        let call = Task {
            try await client.call(
                TestServices.echo, request: EchoRequest(text: "once", delayMs: 2_000), as: EchoReply.self,
                timeout: .seconds(10))
        }
        for _ in 0..<100 where await broker.stats().dispatched == 0 { try await Task.sleep(for: .milliseconds(5)) }
        a.close()  // dies silently, mid-call
        let b = try makeWorker(broker, name: "B", credit: 1)
        defer { b.close() }
        let error = await #expect(throws: RPCStatus.self) { _ = try await call.value }
        #expect(error?.code == .unavailable)
        #expect(await broker.stats().dispatched == 0)
    }

    /// No call outlives the broker's longest call time, whatever timeout
    /// the client asks for: it ends DEADLINE_EXCEEDED at the cut deadline,
    /// not when the handler would have finished (what the re-encryption
    /// job's wait after a rotation relies on).
    @Test func aLongerTimeoutIsCutToTheLongestCallTime() async throws {
        var configuration = BrokerTests.fast
        configuration.maxTimeout = .milliseconds(300)
        let broker = try makeBroker(configuration)
        defer { broker.close() }
        let worker = try makeWorker(broker, name: "A")
        defer { worker.close() }
        try await waitForWorkers(broker, 1)
        let client = try RPCClient(endpoint: broker.clientEndpoint, configuration: RPCClientConfiguration(retry: .none))
        defer { client.close() }
        let started = ContinuousClock.now
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(TestServices.echo, request: EchoRequest(text: "slow", delayMs: 5_000), as: EchoReply.self, timeout: .seconds(60))
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(ContinuousClock.now - started < .seconds(4), "answered at the cut deadline, not after the handler's 5 s")
        // Within the cut, a call runs as asked.
        let quick = try await client.call(TestServices.echo, request: EchoRequest(text: "quick"), as: EchoReply.self, timeout: .seconds(60))
        #expect(quick.message.text == "quick")
    }

    @Test func queuedCallFailsAtItsDeadlineWithoutWorkers() async throws {
        let broker = try makeBroker()
        defer { broker.close() }
        let client = try RPCClient(endpoint: broker.clientEndpoint, configuration: RPCClientConfiguration(retry: .none))
        defer { client.close() }
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(
                TestServices.echo, request: EchoRequest(text: "x"), as: EchoReply.self, timeout: .milliseconds(150))
        }
        #expect(error?.code == .deadlineExceeded)
        // The broker expires the queued call at its own copy of the deadline,
        // a moment after the client gave up: wait for that, then check.
        for _ in 0..<200 where await broker.stats().queued != 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await broker.stats().queued == 0)
    }

    @Test func fullQueueIsResourceExhausted() async throws {
        var configuration = BrokerTests.fast
        configuration.maxQueue = 1
        let broker = try makeBroker(configuration)
        defer { broker.close() }
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        let first = Task {
            try await client.call(
                TestServices.echo, request: EchoRequest(text: "1"), as: EchoReply.self, timeout: .milliseconds(500))
        }
        for _ in 0..<100 where await broker.stats().queued == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(TestServices.echo, request: EchoRequest(text: "2"), as: EchoReply.self)
        }
        #expect(error?.code == .resourceExhausted)
        _ = await first.result
    }

    /// Closing answers every queued call (and must not trip over its own
    /// per-client bookkeeping while it walks the queue).
    @Test func closingWithQueuedCallsEndsThem() async throws {
        let broker = try makeBroker()
        let client = try RPCClient(endpoint: broker.clientEndpoint, configuration: RPCClientConfiguration(retry: .none))
        defer { client.close() }
        let calls = (0..<3).map { i in
            Task {
                try await client.call(
                    TestServices.echo, request: EchoRequest(text: "\(i)"), as: EchoReply.self, timeout: .seconds(2))
            }
        }
        for _ in 0..<200 where await broker.stats().queued < 3 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await broker.stats().queued == 3)
        broker.close()
        for call in calls {
            // UNAVAILABLE when the goodbye got out before the socket closed, else the deadline.
            let error = await #expect(throws: RPCStatus.self) { _ = try await call.value }
            #expect([.unavailable, .deadlineExceeded].contains(error?.code))
        }
    }

    @Test func localMethodsAreAnsweredByTheBrokerItself() async throws {
        var configuration = BrokerTests.fast
        configuration.localService = TestServices.router(name: "broker")
        configuration.route = { $0 == TestServices.echo ? .local : .workers }
        let broker = try makeBroker(configuration)
        defer { broker.close() }
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        let reply = try await client.call(TestServices.echo, request: EchoRequest(text: "here"), as: EchoReply.self)
        #expect(reply.message.servedBy == "broker")
    }

    @Test func drainFinishesInFlightWorkThenLeaves() async throws {
        let broker = try makeBroker()
        defer { broker.close() }
        let worker = try makeWorker(broker, name: "D", credit: 2)
        try await waitForWorkers(broker, 1)
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        let call = Task {
            try await client.call(TestServices.echo, request: EchoRequest(text: "d", delayMs: 200), as: EchoReply.self)
        }
        for _ in 0..<100 where await broker.stats().dispatched == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await worker.drain()
        let reply = try await call.value
        #expect(reply.message.servedBy == "D")
        try await waitForWorkers(broker, 0)
    }
}
