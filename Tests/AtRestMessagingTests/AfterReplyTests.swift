import AtRestMessaging
import AtRestWire
import Foundation
import Synchronization
import Testing

/// `RPCResponse.afterReply`: the server runs it once, after the reply left
/// (or was dropped, the call having overran its deadline), so bookkeeping
/// there (a call's counts and metrics) is off the caller's path and no
/// finished call goes uncounted.
@Suite("A reply's afterReply runs once the reply is sent")
struct AfterReplyTests {
    final class Flags: Sendable {
        let received = Atomic<Bool>(false)
        /// -1 until afterReply ran; then 1 if the caller already had the reply, 0 if not.
        let sawReceived = Atomic<Int>(-1)
        let runs = Atomic<Int>(0)
    }

    struct Service: RPCService {
        let flags: Flags
        func handle(_ request: RPCRequest) async throws -> RPCResponse {
            var response = RPCResponse(EchoReply(text: "done", servedBy: "after"))
            let flags = self.flags
            response.afterReply = {
                flags.runs.add(1, ordering: .relaxed)
                // Waits (bounded) for the caller to hold the reply: it can only if the reply was sent before this ran.
                let deadline = Date().addingTimeInterval(5)
                while !flags.received.load(ordering: .acquiring), Date() < deadline { usleep(1000) }
                flags.sawReceived.store(flags.received.load(ordering: .acquiring) ? 1 : 0, ordering: .releasing)
            }
            return response
        }
    }

    /// Finishes OK only after the call's deadline (it ignores cancellation), so its reply is dropped.
    struct Late: RPCService {
        let flags: Flags
        func handle(_ request: RPCRequest) async throws -> RPCResponse {
            usleep(400_000)
            var response = RPCResponse(EchoReply(text: "late", servedBy: "after"))
            let flags = self.flags
            response.afterReply = { flags.runs.add(1, ordering: .relaxed) }
            return response
        }
    }

    @Test func aCallAnsweredAtItsDeadlineIsStillCountedOnce() async throws {
        let flags = Flags()
        let server = try RPCServer(service: Late(flags: flags), endpoint: TestServices.inproc("after-reply-late"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let error = await #expect(throws: RPCStatus.self) {
            _ = try await client.call(TestServices.echo, request: EchoRequest(text: "x"), as: EchoReply.self, timeout: .milliseconds(100))
        }
        #expect(error?.code == .deadlineExceeded)
        for _ in 0..<300 where flags.runs.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(flags.runs.load(ordering: .relaxed) == 1, "the late handler's bookkeeping ran \(flags.runs.load(ordering: .relaxed)) times")
    }

    @Test func afterReplyRunsOnceAfterTheCallerHasTheReply() async throws {
        let flags = Flags()
        let server = try RPCServer(service: Service(flags: flags), endpoint: TestServices.inproc("after-reply"))
        defer { server.close() }
        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let started = Date()
        let reply = try await client.call(TestServices.echo, request: EchoRequest(text: "x"), as: EchoReply.self)
        flags.received.store(true, ordering: .releasing)
        #expect(reply.message.text == "done")
        #expect(Date().timeIntervalSince(started) < 4, "the reply waited for afterReply")
        for _ in 0..<500 where flags.sawReceived.load(ordering: .acquiring) == -1 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(flags.sawReceived.load(ordering: .acquiring) == 1)
        #expect(flags.runs.load(ordering: .relaxed) == 1)
    }
}
