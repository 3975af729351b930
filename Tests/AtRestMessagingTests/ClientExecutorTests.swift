import AtRestMessaging
import AtRestWire
import Foundation
import Testing

@Suite("Callers on the client's poll thread (RPCClient.executor)")
struct ClientExecutorTests {
    /// Through a real broker and worker on tcp loopback: concurrent callers
    /// under the client's executor get their own replies, and run on the
    /// client's poll thread after each call (no hand-off to the pool).
    @Test func callersOnTheLoopGetTheirRepliesOnTheLoopThread() async throws {
        let broker = try Broker(clientEndpoint: "tcp://127.0.0.1:*", workerEndpoint: "tcp://127.0.0.1:*", context: ZMQContext())
        defer { broker.close() }
        var configuration = WorkerConfiguration(credit: 8)
        configuration.runsHandlersInline = true
        let worker = try WorkerRuntime(
            brokerEndpoint: broker.workerEndpoint, service: TestServices.router(), context: ZMQContext(),
            configuration: configuration)
        defer { worker.close() }
        while await broker.stats().workers < 1 { try await Task.sleep(for: .milliseconds(5)) }
        let client = try RPCClient(endpoint: broker.clientEndpoint, context: ZMQContext())
        defer { client.close() }
        let results = try await withTaskExecutorPreference(client.executor) {
            try await withThrowingTaskGroup(of: (Int, String, String?).self) { group in
                for i in 0..<64 {
                    group.addTask {
                        let reply = try await client.call(
                            TestServices.echo, request: EchoRequest(text: "call-\(i)", delayMs: UInt32(i % 3)),
                            as: EchoReply.self, payload: [[UInt8(i)]])
                        #expect(reply.payload == [[UInt8(i)]])
                        return (i, reply.message.text, currentThreadName())
                    }
                }
                var all: [(Int, String, String?)] = []
                for try await result in group { all.append(result) }
                return all
            }
        }
        #expect(results.count == 64)
        for (i, text, thread) in results {
            #expect(text == "call-\(i)")
            #expect(thread == "rpc-client")
        }
    }

    /// Closing the client fails a call waiting on its loop (the caller is
    /// resumed, not lost with the loop), and a task that prefers the stopped
    /// loop still runs to its end.
    @Test func closingTheClientStillResumesItsCallers() async throws {
        let server = try RPCServer(service: TestServices.router(), endpoint: TestServices.inproc("exec-close"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        let outcome: String = await withTaskExecutorPreference(client.executor) {
            async let closer: Void = {
                try? await Task.sleep(for: .milliseconds(100))
                client.close()
            }()
            let code: String
            do {
                _ = try await client.call(
                    TestServices.echo, request: EchoRequest(text: "slow", delayMs: 10_000), as: EchoReply.self,
                    timeout: .seconds(30))
                code = "ok"
            } catch let status as RPCStatus {
                code = "\(status.code)"
            } catch {
                code = "\(error)"
            }
            await closer
            // Resumed after the loop ended: runs on a thread of its own.
            try? await Task.sleep(for: .milliseconds(10))
            return code
        }
        #expect(outcome == "\(StatusCode.unavailable)")
    }
}

/// The name of the thread running the caller (a sync function: async code may not ask).
private func currentThreadName() -> String? { Thread.current.name }
