import AtRestMessaging
import Testing

@Suite("Frames and sockets")
struct FrameTests {
    @Test func zeroCopyAndCopiedFramesCarryTheirBytes() throws {
        let endpoint = TestServices.inproc("pair")
        let a = try ZMQSocket(.pair)
        try a.bind(endpoint)
        let b = try ZMQSocket(.pair)
        try b.connect(endpoint)
        let large = [UInt8]((0..<100_000).map { UInt8(truncatingIfNeeded: $0) })
        try a.send([Frame([1, 2]), Frame(large), Frame.empty(), Frame("text")])
        let got = try #require(try b.receive(timeoutMs: 1000))
        #expect(got.map(\.bytes) == [[1, 2], large, [], Array("text".utf8)])
    }

    @Test func copiedFrameSurvivesSendingTheOriginal() throws {
        let endpoint = TestServices.inproc("copy")
        let a = try ZMQSocket(.pair)
        try a.bind(endpoint)
        let b = try ZMQSocket(.pair)
        try b.connect(endpoint)
        let original = Frame([UInt8](repeating: 9, count: 10_000))
        let kept = original.copy()
        try a.send([original])
        _ = try b.receive(timeoutMs: 1000)
        #expect(kept.bytes == [UInt8](repeating: 9, count: 10_000))
    }

    @Test func badEndpointIsATypedError() throws {
        let socket = try ZMQSocket(.router)
        let error = #expect(throws: MessagingError.self) { try socket.bind("nonsense://x") }
        #expect(error?.code == .badEndpoint)
        #expect(error?.status.code == .invalidArgument)
    }

    @Test func unreachablePeerOnRouterIsUnavailable() throws {
        let socket = try ZMQSocket(.router)
        try socket.bind(TestServices.inproc("mandatory"))
        let error = #expect(throws: MessagingError.self) { try socket.send([Frame("nobody"), Frame.empty()]) }
        #expect(error?.code == .peerUnreachable)
        #expect(error?.status.code == .unavailable)
    }
}
