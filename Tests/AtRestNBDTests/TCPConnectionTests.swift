import AtRestSockets
import Foundation
import Testing

/// `TCPConnection`'s gather write and uninitialised reads, over a real
/// loopback connection (the NBD server answers reads with them).
@Suite(.timeLimit(.minutes(1))) struct TCPConnectionTests {
    /// Bytes that differ at every position, so a part sent twice, skipped or
    /// shifted by a partial send shows.
    static func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var state = seed
            for index in 0 ..< count {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                buffer[index] = UInt8(truncatingIfNeeded: state >> 56)
            }
            initialized = count
        }
    }

    static func pair() async throws -> (client: TCPConnection, server: TCPConnection, listener: TCPListener) {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await TCPConnection.connect(host: "127.0.0.1", port: listener.port)
        return (client, try await accepted, listener)
    }

    /// `readAtLeast` takes what is already there up to its maximum, waits
    /// only for its minimum (a byte sent later completes it), and meets the
    /// end of the stream as an error; `readExactly` stops at its count.
    @Test func readAtLeastTakesWhatIsThereAndWaitsOnlyForItsMinimum() async throws {
        let (client, server, listener) = try await Self.pair()
        defer { client.close(); server.close(); listener.close() }
        let sent = Self.pattern(100, seed: 9)
        try await client.writeAll(parts: [sent])
        var received: [UInt8] = []
        while received.count < 64 { received += try await server.readAtLeast(1, upTo: 64 - received.count) }
        #expect(received == Array(sent[..<64]))
        #expect(try await server.readExactly(6) == Array(sent[64..<70]))
        // 30 left; ask for at least 31: it waits for the byte sent after, and takes nothing beyond 1,000.
        async let rest = server.readAtLeast(31, upTo: 1000)
        try await Task.sleep(for: .milliseconds(100))
        try await client.writeAll(parts: [[0xEE]])
        let got = try await rest
        #expect(got == Array(sent[70...]) + [0xEE])
        client.close()
        await #expect(throws: SocketError.self) { _ = try await server.readAtLeast(1, upTo: 10) }
    }

    @Test func partsArriveInOrderWholeThroughPartialSends() async throws {
        let (client, server, listener) = try await Self.pair()
        defer { client.close(); server.close(); listener.close() }
        // More than the loopback socket buffers hold, and the reader pauses
        // 3 s after its first read with a 2 s send timeout: the first sendmsg
        // returns after part of a part (at 2 s: Linux returns what it queued
        // when the timeout ends), the next one resumes there and waits for the
        // reader (at 3 s, within its own 2 s). An empty part is skipped.
        let parts = [Self.pattern(16, seed: 1), Self.pattern(12 << 20, seed: 2), [], Self.pattern(1, seed: 3),
                     Self.pattern((4 << 20) + 7, seed: 4)]
        let expected = parts.flatMap { $0 }
        client.setTimeouts(seconds: 2)
        let writing = Task { try await client.writeAll(parts: parts) }
        var received = try await server.readSome(maxCount: 64 << 10)
        try await Task.sleep(for: .seconds(3))
        while received.count < expected.count {
            received += try await server.readSome(maxCount: min(1 << 20, expected.count - received.count))
        }
        #expect(received == expected, "the parts arrived changed or out of order")
        // A writer that sent wrong bytes may still be sending: closing ends it.
        if received != expected { server.close() }
        try await writing.value
    }

    @Test func readExactlyReturnsExactlyWhatWasSent() async throws {
        let (client, server, listener) = try await Self.pair()
        defer { client.close(); server.close(); listener.close() }
        let sent = Self.pattern(1 << 20, seed: 5)
        async let writing: Void = client.writeAll(sent)
        let first = try await server.readExactly(16)
        let rest = try await server.readExactly(sent.count - 16)
        try await writing
        #expect(first + rest == sent)
        client.close()
        await #expect(throws: SocketError.self) { try await server.readExactly(1) }
    }

    @Test func aGatherWriteToAClosedPeerFails() async throws {
        let (client, server, listener) = try await Self.pair()
        defer { client.close(); listener.close() }
        server.close()
        // The first sends may land in the buffers before the reset arrives.
        await #expect(throws: SocketError.self) {
            for _ in 0 ..< 64 { try await client.writeAll(parts: [Self.pattern(16, seed: 6), Self.pattern(1 << 20, seed: 7)]) }
        }
    }
}
