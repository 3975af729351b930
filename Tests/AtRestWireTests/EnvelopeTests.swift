import Testing
@testable import AtRestWire

@Suite struct EnvelopeTests {
    @Test func headerRoundTripsThroughProtobufC() throws {
        let header = RPCHeader(
            method: "atrest.v1.Blob/Put", callID: Array(0..<16), idempotencyKey: "k-1", attempt: 2,
            timeoutMs: 1500, metadata: ["authorization": "Bearer abc", "traceparent": "00-1-2-01"],
            streamSeq: 7, endOfStream: true, credit: 3)
        let bytes = header.serialized()
        #expect(!bytes.isEmpty)
        let back = try RPCHeader(serialized: bytes)
        #expect(back == header)
        #expect(back.bearerToken == "abc")
    }

    @Test func replyCarriesNestedStatusWithDetails() throws {
        let reply = ReplyHeader(
            callID: [1, 2, 3],
            status: RPCStatus(.unavailable, "no worker", retryAfterMs: 250, details: ["worker": "w1"]),
            streamSeq: 1, endOfStream: true, credit: 9)
        let back = try ReplyHeader(serialized: reply.serialized())
        #expect(back == reply)
        #expect(back.status.code == .unavailable)
    }

    @Test func defaultsEncodeToNothingAndDecodeBack() throws {
        let empty = RPCHeader(method: "", attempt: 0)
        #expect(empty.serialized().isEmpty)
        #expect(try RPCHeader(serialized: [UInt8]()) == empty)
    }

    @Test func garbageIsRejectedAsMalformed() {
        // Field 1 (string) claims 100 bytes but only 2 follow.
        #expect(throws: WireError.self) { try RPCHeader(serialized: [0x0a, 100, 0x41, 0x42]) }
        // A wire type 7 does not exist.
        #expect(throws: WireError.self) { try RPCHeader(serialized: [0x0f, 0x00]) }
    }

    @Test func repeatedStringsAndUnknownStatusCode() throws {
        let ready = WorkerReady(workerID: "w-1", credit: 4, methods: ["a", "b", ""], version: "1")
        #expect(try WorkerReady(serialized: ready.serialized()) == ready)
        // A newer peer's unknown code reads as UNKNOWN.
        let status = try RPCStatus(serialized: [0x08, 99])
        #expect(status.code == .unknown)
    }

    @Test func knownEncodingMatchesProtobufSpec() throws {
        // Heartbeat{credit: 150} is field 1 varint 150 = 08 96 01 (protobuf docs example).
        #expect(Heartbeat(credit: 150).serialized() == [0x08, 0x96, 0x01])
        let limits = Limits(maxMessageBytes: 1, maxPayloadBytes: 2, maxBlockBytes: 3)
        #expect(limits.serialized() == [0x08, 1, 0x10, 2, 0x18, 3])
    }
}

@Suite struct RouterTests {
    struct Echo: Error {}

    func router() -> RPCRouter {
        var router = RPCRouter()
        router.register("t/Beat", Heartbeat.self) { (beat: Heartbeat, _: RPCContext) in
            Heartbeat(credit: beat.credit + 1)
        }
        return router
    }

    @Test func dispatchesDecodedRequests() async throws {
        let request = RPCRequest(header: RPCHeader(method: "t/Beat"), body: Heartbeat(credit: 41).serialized())
        let reply = try await router().handle(request)
        #expect(try Heartbeat(serialized: reply.body).credit == 42)
    }

    @Test func unknownMethodIsUnimplementedAndBadBodyInvalid() async {
        await #expect(throws: RPCStatus(.unimplemented, "unknown method 'nope'")) {
            try await router().handle(RPCRequest(header: RPCHeader(method: "nope")))
        }
        do {
            _ = try await router().handle(RPCRequest(header: RPCHeader(method: "t/Beat"), body: [0xff, 0xff]))
            Issue.record("bad body accepted")
        } catch let status as RPCStatus {
            #expect(status.code == .invalidArgument)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
