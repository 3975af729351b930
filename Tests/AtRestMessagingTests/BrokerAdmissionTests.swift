import AtRestMessaging
import AtRestWire
import Testing

/// The broker's admission hook (what the front door uses): what it sets in
/// the header is what the worker gets, on the fast path and on the rewrite
/// of a call that waited in the queue; what it refuses never reaches a worker.
@Suite("Broker admission hook")
struct BrokerAdmissionTests {
    /// Answers with what the worker saw: the account context, the hook's metadata and the timeout.
    struct HeaderEcho: RPCService {
        let calls = ConcurrencyProbe()
        func handle(_ request: RPCRequest) async throws -> RPCResponse {
            calls.enter()
            defer { calls.leave() }
            let header = request.header
            return RPCResponse(EchoReply(text: header.accountContext?.accountID ?? "<none>",
                                         servedBy: "\(header.metadata["admitted-by"] ?? "<none>") \(header.timeoutMs)"))
        }
    }

    static func context(_ account: String) -> AccountContext {
        AccountContext(accountID: account, tenant: "t", managedIdentity: "mi", wrappedKey: [1, 2], provider: "managed",
                       keyID: "k", keyVersion: 1, accountKeyVersion: 1, principalID: "p")
    }

    func makeBroker() throws -> Broker {
        var configuration = BrokerTests.fast
        configuration.admit = { header in
            guard let account = header.metadata["account"] else { return RPCStatus(.unauthenticated, "no account") }
            header.accountContext = Self.context(account)
            header.metadata["admitted-by"] = "hook"
            return nil
        }
        return try Broker(clientEndpoint: TestServices.inproc("clients"), workerEndpoint: TestServices.inproc("workers"),
                          configuration: configuration)
    }

    func makeWorker(_ broker: Broker, _ service: HeaderEcho = HeaderEcho()) throws -> WorkerRuntime {
        try WorkerRuntime(brokerEndpoint: broker.workerEndpoint, service: service,
                          configuration: WorkerConfiguration(credit: 4, heartbeatInterval: .milliseconds(100), workerID: "w"))
    }

    func call(_ client: RPCClient, account: String?) async throws -> EchoReply {
        try await client.call(TestServices.echo, request: EchoRequest(text: "x"), as: EchoReply.self,
                              timeout: .seconds(10), metadata: account.map { ["account": $0] } ?? [:]).message
    }

    @Test func theAdmittedHeaderReachesTheWorkerAlsoAfterWaitingInTheQueue() async throws {
        let broker = try makeBroker()
        defer { broker.close() }
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        // No worker yet: the call waits in the queue, so it is dispatched with a
        // rewritten header (broker call id, time left), built from the admitted one.
        let queued = Task { try await call(client, account: "acct-queued") }
        for _ in 0..<400 where await broker.stats().queued != 1 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await broker.stats().queued == 1)
        // Not synchronisation: the fast path's window (dispatch within 1 ms of arrival) must be over.
        try await Task.sleep(for: .milliseconds(2))
        let worker = try makeWorker(broker)
        defer { worker.close() }
        let late = try await queued.value
        let lateParts = late.servedBy.split(separator: " ")
        #expect(late.text == "acct-queued" && lateParts.first == "hook")
        // Rewritten: the time left, below the client's 10 000 ms.
        #expect((UInt32(lateParts.last ?? "") ?? .max) < 10_000, "\(late.servedBy)")
        // With a worker waiting: usually the fast path, the admitted frame as it is.
        let direct = try await call(client, account: "acct-direct")
        #expect(direct.text == "acct-direct" && direct.servedBy.hasPrefix("hook "))
    }

    @Test func aRefusedCallNeverReachesAWorker() async throws {
        let broker = try makeBroker()
        defer { broker.close() }
        let service = HeaderEcho()
        let worker = try makeWorker(broker, service)
        defer { worker.close() }
        let client = try RPCClient(endpoint: broker.clientEndpoint)
        defer { client.close() }
        let error = await #expect(throws: RPCStatus.self) { _ = try await call(client, account: nil) }
        #expect(error?.code == .unauthenticated && error?.message == "no account")
        // The next call is served by the same worker: the refused one never reached it.
        #expect(try await call(client, account: "a").text == "a")
        #expect(service.calls.total == 1)
    }
}
