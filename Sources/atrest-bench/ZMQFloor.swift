import ArgumentParser
import AtRestCrypto
import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Glibc

/// The CPU floor of a put (issue 19): what the same bytes cost with nothing
/// above libzmq and OpenSSL. This process's DEALER sends 4 MiB frames (a
/// small header frame first, as an RPC has) with `inFlight` outstanding
/// through libzmq's own `zmq_proxy` (ROUTER→DEALER, a child process, as the
/// front door is) to a bare ROUTER receiver (a child process, as a worker
/// is), over loopback TCP; the receiver seals each frame with raw
/// AES-256-GCM in 64 KiB segments (the work format v1 does) and answers a
/// 16-byte ack. Measured: wall-clock throughput of the whole chain sharing
/// the cores (the floor a put through the front door can reach), and CPU
/// seconds per GiB of sender, relay and receiver (the receiver's own sealing
/// counted apart, so the bare receive cost shows).
final class ZMQFloor: @unchecked Sendable {  // used by one task at a time
    struct Round {
        var seconds = 0.0, bytes = 0.0
        var sender = 0.0, relay = 0.0, receiver = 0.0, sealing = 0.0
        static func + (a: Round, b: Round) -> Round {
            Round(seconds: a.seconds + b.seconds, bytes: a.bytes + b.bytes, sender: a.sender + b.sender,
                  relay: a.relay + b.relay, receiver: a.receiver + b.receiver, sealing: a.sealing + b.sealing)
        }
        var mibPerSecond: Double { bytes / max(seconds, 1e-9) / 1_048_576 }
        func perGiB(_ cpu: Double) -> Double { cpu / max(bytes / Double(1 << 30), 1e-12) }
        var total: Double { sender + relay + receiver }
    }

    private let relay: BenchChild, receiver: BenchChild
    private let cleanup: ExitCleanup
    private let context = ZMQContext()
    private let client: ZMQSocket
    private let parts: [PayloadPart]
    private let inFlight: Int
    private var lastSealNanos: UInt64 = 0

    /// Starts the relay and receiver from this executable (`zmq-floor-part`).
    init(payload: [UInt8], frameSize: Int, inFlight: Int, directory: String) async throws {
        cleanup = try ExitCleanup([])
        let exe = BenchCluster.binDirectory + "/atrest-bench"
        relay = try BenchChild(exe, ["zmq-floor-part", "--role", "relay"], directory: directory, cleanup: cleanup)
        let endpoints = try await Self.firstLine(of: relay).split(separator: " ").map(String.init)
        guard endpoints.count == 2 else { throw ValidationError("zmq floor relay said: \(endpoints)") }
        receiver = try BenchChild(exe, ["zmq-floor-part", "--role", "receive", "--connect", endpoints[1]], directory: directory, cleanup: cleanup)
        _ = try await Self.firstLine(of: receiver)
        client = try ZMQSocket(.dealer, context: context)
        try client.connect(endpoints[0])
        parts = stride(from: 0, to: payload.count, by: frameSize).map { PayloadPart(Array(payload[$0..<min($0 + frameSize, payload.count)])) }
        self.inFlight = inFlight
        _ = try await round()  // warm-up: connections, buffers, the receiver's key
    }

    deinit {
        client.close()
        relay.stop()
        receiver.stop()
    }

    private static func firstLine(of child: BenchChild) async throws -> String {
        for _ in 0..<500 {
            if let line = child.stdout.split(separator: "\n").first { return String(line) }
            guard child.isRunning else { throw ValidationError("zmq-floor-part exited: \(child.stderr.suffix(500))") }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ValidationError("zmq-floor-part did not start")
    }

    /// One pass of the payload through the chain.
    func round() async throws -> Round {
        let pids = (relay: relay.pid, receiver: receiver.pid)
        let before = (me: ProcessCPU.selfSeconds(), relay: ProcessCPU.seconds(pid: pids.relay),
                      receiver: ProcessCPU.seconds(pid: pids.receiver), seal: lastSealNanos)
        let start = BenchClock.now()
        let sealNanos = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<UInt64, Error>) in
            Thread { continuation.resume(with: Result { try self.send() }) }.start()
        }
        let seconds = BenchClock.now() - start
        lastSealNanos = sealNanos
        return Round(seconds: seconds, bytes: Double(parts.reduce(0) { $0 + $1.count }),
                     sender: ProcessCPU.selfSeconds() - before.me, relay: ProcessCPU.seconds(pid: pids.relay) - before.relay,
                     receiver: ProcessCPU.seconds(pid: pids.receiver) - before.receiver,
                     sealing: Double(sealNanos &- before.seal) / 1e9)
    }

    /// Sends every part with `inFlight` outstanding; the receiver's sealing nanoseconds so far (last ack).
    private func send() throws -> UInt64 {
        let header = [UInt8](repeating: 1, count: 64)
        var sent = 0, acked = 0, sealNanos: UInt64 = 0
        while acked < parts.count {
            while sent < parts.count, sent - acked < inFlight {
                try client.send([Frame(header), Frame(parts[sent])])
                sent += 1
            }
            guard let ack = try client.receive(timeoutMs: 10_000), let last = ack.last, last.count == 16 else {
                throw ValidationError("zmq floor: no ack")
            }
            sealNanos = last.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            acked += 1
        }
        return sealNanos
    }
}

/// `atrest-bench zmq-floor-part`: the relay or the receiver of `ZMQFloor`, run by `e2e` as its own process.
struct ZMQFloorPart: ParsableCommand, BenchHelperCommand {
    static let configuration = CommandConfiguration(
        commandName: "zmq-floor-part", abstract: "(run by e2e) the zmq_proxy relay or the bare sealing receiver of the put's CPU floor.",
        shouldDisplay: false)

    @Option(help: "relay or receive.") var role: String
    @Option(help: "receive: the relay's backend endpoint.") var connect = ""

    func run() throws {
        let context = ZMQContext()
        if role == "relay" {
            let frontend = try ZMQSocket(.router, context: context)
            let backend = try ZMQSocket(.dealer, context: context)
            let control = try ZMQSocket(.pair, context: context)
            let front = try frontend.bind("tcp://127.0.0.1:*"), back = try backend.bind("tcp://127.0.0.1:*")
            _ = try control.bind("inproc://floor-control")
            FileHandle.standardOutput.write(Data("\(front) \(back)\n".utf8))
            try ZMQProxy.run(frontend: frontend, backend: backend, control: control)  // until killed
            return
        }
        guard role == "receive" else { throw ValidationError("--role: relay or receive") }
        let socket = try ZMQSocket(.router, context: context)
        try socket.connect(connect)
        let gcm = try AESGCMContext(key: SecretBytes(randomCount: 32))
        let segment = 64 << 10
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 64)
        var nonce = [UInt8](repeating: 0, count: 12), tag = [UInt8](repeating: 0, count: 16)
        let aad = [UInt8](repeating: 7, count: 32)
        var sealNanos: UInt64 = 0, counter: UInt32 = 0
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        while true {
            guard var frames = try socket.receive(timeoutMs: 1000), let payload = frames.popLast() else { continue }
            let start = BenchClock.threadNanos()
            try payload.withUnsafeBytes { input in
                try nonce.withUnsafeMutableBytes { n in
                    try aad.withUnsafeBytes { a in
                        try tag.withUnsafeMutableBytes { t in
                            for offset in stride(from: 0, to: min(input.count, output.count), by: segment) {
                                counter &+= 1
                                n.storeBytes(of: counter, toByteOffset: 8, as: UInt32.self)
                                let end = min(offset + segment, input.count)
                                try gcm.seal(UnsafeRawBufferPointer(rebasing: input[offset..<end]),
                                             into: UnsafeMutableRawBufferPointer(rebasing: output[offset..<end]),
                                             nonce: UnsafeRawBufferPointer(n), aad: a, tag: t)
                            }
                        }
                    }
                }
            }
            sealNanos &+= BenchClock.threadNanos() &- start
            var ack = [UInt8](repeating: 0, count: 16)
            ack.withUnsafeMutableBytes { $0.storeBytes(of: sealNanos, as: UInt64.self) }
            frames.removeLast()  // the header: identities stay, the ack follows them
            try socket.send(frames + [Frame(ack)])
        }
    }
}

extension BenchClock {
    /// This thread's CPU time, in nanoseconds.
    static func threadNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// CPU seconds per GiB of `body` on this thread (after one warm-up call), from thread CPU time.
    static func threadCPUPerGiB(bytesPerIteration: Int, iterations: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        let start = threadNanos()
        for _ in 0..<iterations { try body() }
        return Double(threadNanos() - start) / 1e9 / (Double(bytesPerIteration * iterations) / Double(1 << 30))
    }
}
