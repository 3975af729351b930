import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Throws random and mutated frames at a live server process, then checks
/// that it still answers correctly.
@Suite("Messaging fuzz", .serialized)
struct MessagingFuzzTests {
    static let echo = EchoMethod.echo.name

    static func validRequest(_ rng: inout SplitMix) -> [[UInt8]] {
        let header = RPCHeader(
            method: echo, callID: (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }, timeoutMs: 1000)
        return [[], Array("ATR1".utf8), [Command.request.rawValue], header.serialized(),
                EchoRequest(text: "fuzz").serialized()]
    }

    static func randomBytes(_ rng: inout SplitMix, max: Int) -> [UInt8] {
        (0..<Int.random(in: 0...max, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// One hostile message: random frames, or a valid request mutated.
    static func mutant(_ rng: inout SplitMix) -> [[UInt8]] {
        var frames = validRequest(&rng)
        switch Int.random(in: 0..<10, using: &rng) {
        case 0:
            return (0..<Int.random(in: 1...8, using: &rng)).map { _ in randomBytes(&rng, max: 64) }
        case 1:  // flip bytes anywhere
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let f = Int.random(in: 0..<frames.count, using: &rng)
                if frames[f].isEmpty { frames[f] = [UInt8.random(in: 0...255, using: &rng)]; continue }
                let i = Int.random(in: 0..<frames[f].count, using: &rng)
                frames[f][i] ^= UInt8.random(in: 1...255, using: &rng)
            }
        case 2:  // truncate the header
            frames[3] = Array(frames[3].prefix(Int.random(in: 0..<frames[3].count, using: &rng)))
        case 3:  // drop frames
            frames = Array(frames.prefix(Int.random(in: 1...4, using: &rng)))
        case 4:  // wrong tag
            frames[1] = randomBytes(&rng, max: 6)
        case 5:  // unknown or wrong command
            frames[2] = [UInt8.random(in: 0...255, using: &rng)]
        case 6:  // garbage header
            frames[3] = randomBytes(&rng, max: 40)
        case 7:  // many frames
            frames += (0..<Int.random(in: 60...200, using: &rng)).map { _ in randomBytes(&rng, max: 4) }
        case 8:  // unknown method
            var header = try! RPCHeader(serialized: frames[3])
            header.method = String(decoding: randomBytes(&rng, max: 20).map { $0 % 94 + 33 }, as: UTF8.self)
            frames[3] = header.serialized()
        default:  // garbage body
            frames[4] = randomBytes(&rng, max: 100)
        }
        return frames
    }

    /// Sends `count` hostile messages from 4 DEALERs, reading what comes
    /// back; every 250th carries a payload frame of 1-7 MiB.
    static func fuzz(_ endpoint: String, count: Int, rng: inout SplitMix) async throws -> Int {
        var sockets: [ZMQSocket] = []
        for _ in 0..<4 {
            let socket = try ZMQSocket(.dealer)
            try socket.connect(endpoint)
            sockets.append(socket)
        }
        var sent = 0
        var replies = 0
        while sent < count {
            let socket = sockets[sent % sockets.count]
            var frames = Self.mutant(&rng)
            if sent % 3 == 0, frames.count == 5, var header = try? RPCHeader(serialized: frames[3]) {
                header.method = BlobMethod.list.name  // the broker's worker path: admission refuses it (no token)
                frames[3] = header.serialized()
            }
            if sent % 250 == 0 {
                frames.append([UInt8](repeating: 0xA5, count: Int.random(in: 1...7, using: &rng) << 20))
            }
            do {
                try socket.send(frames.map { Frame($0) })
                sent += 1
            } catch {
                try await Task.sleep(for: .milliseconds(1))  // congested: let the server catch up
            }
            if sent % 500 == 0 {
                for s in sockets { while (try? s.receive()) != nil { replies += 1 } }
            }
        }
        sockets.forEach { $0.close() }
        return replies
    }

    /// The front door's RSS after fuzz rounds against one process: a leak
    /// grows again on every round, allocator retention does not
    /// (docs/OPERATIONS.md "Limits"). ATREST_FUZZ_FRAMES messages per round
    /// (default 30,000).
    @Test func frontDoorMemoryStaysFlatOverRepeatedFuzzRounds() async throws {
        let cluster = try LocalCluster(.init(rootTag: "fuzz"))
        defer { cluster.stop() }
        let count = Int(ProcessInfo.processInfo.environment["ATREST_FUZZ_FRAMES"] ?? "") ?? 30_000
        let seed = UInt64.random(in: .min ... .max)
        print("fuzz seed \(seed)")
        var rng = SplitMix(seed: seed)
        func rss() async throws -> UInt64 { try await cluster.status(cluster.frontDoor.endpoint).rssKiB / 1024 }
        let baseline = try await rss()
        var peaks: [UInt64] = [], settled: [UInt64] = []
        for _ in 0..<3 {
            _ = try await Self.fuzz(cluster.frontDoor.endpoint, count: count, rng: &rng)
            peaks.append(try await rss())
            // Idle now: wait (bounded) for the RSS to come back near the baseline.
            var low = peaks.last!
            let end = ContinuousClock.now + .seconds(8)
            while ContinuousClock.now < end, low > baseline + 16 {
                try await Task.sleep(for: .milliseconds(250))
                low = min(low, try await rss())
            }
            settled.append(low)
        }
        print("front door RSS (MiB): \(baseline) before; after each round of \(count) fuzzed messages \(peaks), once idle \(settled)")
        #expect(peaks.max()! < 256)
        // A leak grows the idle RSS again on every round; allocator retention
        // steps up once and then holds (a clean-clone CI run settled at 47, 64,
        // 64 MiB: one step of 17 MiB, then none). So the smaller of the two later
        // steps is the leak's lower bound. Readings at or below the settle target
        // (baseline + 16) are where the wait stops, not a trend.
        let steps = zip(settled.dropFirst(), settled).map { Int($0) - Int($1) }
        #expect(steps.min()! <= 4 || settled.last! <= baseline + 16, "idle RSS grew on every round: \(settled) MiB")
        // Without giving heap back the idle RSS was baseline + 36, + 63, + 67 MiB
        // here; with it + 4 to + 9 on a quiet machine and up to + 33 under load.
        #expect(settled.max()! <= baseline + 48, "idle RSS stayed at \(settled) MiB (baseline \(baseline) MiB)")
        #expect(cluster.frontDoor.isRunning)
    }

    @Test func serverSurvivesTenThousandHostileMessages() async throws {
        let server = try ServiceProcess("atrest-echo", ["server", "--log-level", "error"])
        let seed = UInt64.random(in: .min ... .max)
        print("fuzz seed \(seed)")
        var rng = SplitMix(seed: seed)
        var sockets: [ZMQSocket] = []
        for _ in 0..<4 {
            let socket = try ZMQSocket(.dealer)
            try socket.connect(server.endpoint)
            sockets.append(socket)
        }
        var sent = 0
        var replies = 0
        while sent < 10_000 {
            let socket = sockets[sent % sockets.count]
            let frames = Self.mutant(&rng).map { Frame($0) }
            do {
                try socket.send(frames)
                sent += 1
            } catch {
                try await Task.sleep(for: .milliseconds(1))  // congested: let the server catch up
            }
            if sent % 500 == 0 {
                for s in sockets { while (try? s.receive()) != nil { replies += 1 } }
            }
        }
        // An oversized frame (over ZMQ_MAXMSGSIZE): libzmq drops that peer.
        let big = try ZMQSocket(.dealer)
        try big.connect(server.endpoint)
        try big.send([Frame([]), Frame(Array("ATR1".utf8)), Frame([1]), Frame([UInt8](repeating: 7, count: 9 << 20))])
        #expect(sent == 10_000)
        #expect(replies > 0)  // rejections with a usable call id are answered

        let client = try RPCClient(endpoint: server.endpoint)
        defer { client.close() }
        let payload = [UInt8](repeating: 42, count: 100_000)
        let reply = try await client.call(Self.echo, request: EchoRequest(text: "still here"), as: EchoReply.self,
                                          payload: [payload], timeout: .seconds(10))
        #expect(reply.message.text == "still here")
        #expect(reply.payload == [payload])
        #expect(server.isRunning)
        #expect(server.terminate() == 0)
    }
}
