import ArgumentParser
import AtRestCrypto
import AtRestMessaging
import AtRestRuntime
import AtRestTesting
import AtRestWire
import Foundation
import Glibc

/// The CPU floor of a put or a get (issue 19): what the same bytes cost
/// with nothing above libzmq and OpenSSL, over loopback TCP, through
/// libzmq's own `zmq_proxy` (ROUTER→DEALER, a child process, as the front
/// door is) to a bare ROUTER (a child process, as a worker is).
/// - put: this process's DEALER sends 4 MiB frames (a small header frame
///   first, as an RPC has) with `inFlight` outstanding; the receiver seals
///   each frame with raw AES-256-GCM in 64 KiB segments (the work format v1
///   does) and answers a 16-byte ack.
/// - get: this process's DEALER sends `inFlight` small range requests (a
///   64-byte header and the range's index) at a time; the server answers
///   each with the range opened by raw AES-256-GCM (64 KiB segments) straight
///   into the reply frame's buffer, sent without a copy; this process copies
///   each reply into one 64 MiB buffer at its offset (the copy a download
///   into memory makes; the buffer is allocated once, so its pages are not
///   faulted in per round).
/// Measured: wall-clock throughput of the whole chain sharing the cores (the
/// floor a put or get through the front door can reach), and CPU seconds per
/// GiB of this process, relay and child (the child's own sealing or opening
/// counted apart, so the bare receive or send cost shows).
final class ZMQFloor: @unchecked Sendable {  // used by one task at a time
    enum Direction { case put, get }

    /// `sender`: this process (the put's sender, the get's client);
    /// `receiver`: the child (the put's receiver, the get's server);
    /// `crypto`: the child's sealing (put) or opening (get).
    struct Round {
        var seconds = 0.0, bytes = 0.0
        var sender = 0.0, relay = 0.0, receiver = 0.0, crypto = 0.0
        static func + (a: Round, b: Round) -> Round {
            Round(seconds: a.seconds + b.seconds, bytes: a.bytes + b.bytes, sender: a.sender + b.sender,
                  relay: a.relay + b.relay, receiver: a.receiver + b.receiver, crypto: a.crypto + b.crypto)
        }
        var mibPerSecond: Double { bytes / max(seconds, 1e-9) / 1_048_576 }
        func perGiB(_ cpu: Double) -> Double { cpu / max(bytes / Double(1 << 30), 1e-12) }
        var total: Double { sender + relay + receiver }
    }

    private let relay: BenchChild, receiver: BenchChild
    private let cleanup: ExitCleanup
    private let context = ZMQContext()
    private let client: ZMQSocket
    private let direction: Direction
    /// put: the frames sent; get: the size of each range asked for.
    private let parts: [PayloadPart]
    private let sizes: [Int]
    /// get: where the replies are copied (`total` bytes, allocated once).
    private let destination: UnsafeMutableRawBufferPointer
    private let frameSize: Int
    private let inFlight: Int
    private var lastCryptoNanos: UInt64 = 0

    /// Starts the relay and receiver (put) or server (get) from this executable (`zmq-floor-part`).
    init(payload: [UInt8], frameSize: Int, inFlight: Int, directory: String, direction: Direction = .put) async throws {
        cleanup = try ExitCleanup([])
        let exe = BenchCluster.binDirectory + "/atrest-bench"
        relay = try BenchChild(exe, ["zmq-floor-part", "--role", "relay"], directory: directory, cleanup: cleanup)
        let endpoints = try await Self.firstLine(of: relay).split(separator: " ").map(String.init)
        guard endpoints.count == 2 else { throw ValidationError("zmq floor relay said: \(endpoints)") }
        let role = direction == .put ? ["--role", "receive"] : ["--role", "serve", "--frame-size", "\(frameSize)", "--total", "\(payload.count)"]
        receiver = try BenchChild(exe, ["zmq-floor-part"] + role + ["--connect", endpoints[1]], directory: directory, cleanup: cleanup)
        _ = try await Self.firstLine(of: receiver)
        client = try ZMQSocket(.dealer, context: context)
        try client.connect(endpoints[0])
        let ranges = stride(from: 0, to: payload.count, by: frameSize).map { $0..<min($0 + frameSize, payload.count) }
        self.direction = direction
        parts = direction == .put ? ranges.map { PayloadPart(Array(payload[$0])) } : []
        sizes = ranges.map(\.count)
        destination = .allocate(byteCount: direction == .get ? payload.count : 0, alignment: 4096)
        destination.initializeMemory(as: UInt8.self, repeating: 0)  // faulted in once, not per round
        self.frameSize = frameSize
        self.inFlight = inFlight
        _ = try await round()  // warm-up: connections, buffers, the child's key
    }

    deinit {
        client.close()
        relay.stop()
        receiver.stop()
        destination.deallocate()
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
                      receiver: ProcessCPU.seconds(pid: pids.receiver), crypto: lastCryptoNanos)
        let start = BenchClock.now()
        let cryptoNanos = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<UInt64, Error>) in
            Thread { continuation.resume(with: Result { try self.direction == .put ? self.send() : self.fetch() }) }.start()
        }
        let seconds = BenchClock.now() - start
        lastCryptoNanos = cryptoNanos
        return Round(seconds: seconds, bytes: Double(sizes.reduce(0, +)),
                     sender: ProcessCPU.selfSeconds() - before.me, relay: ProcessCPU.seconds(pid: pids.relay) - before.relay,
                     receiver: ProcessCPU.seconds(pid: pids.receiver) - before.receiver,
                     crypto: Double(cryptoNanos &- before.crypto) / 1e9)
    }

    /// Asks for every range with `inFlight` outstanding and copies each reply
    /// into `destination`; the server's opening nanoseconds so far (last reply).
    private func fetch() throws -> UInt64 {
        let header = [UInt8](repeating: 1, count: 64)
        var sent = 0, received = 0, openNanos: UInt64 = 0
        while received < sizes.count {
            while sent < sizes.count, sent - received < inFlight {
                try client.send([Frame(header), Frame(withUnsafeBytes(of: UInt64(sent).littleEndian, Array.init))])
                sent += 1
            }
            guard let reply = try client.receive(timeoutMs: 10_000), reply.count == 2, reply[1].count == 16 else {
                throw ValidationError("zmq floor: no reply")
            }
            let (index, nanos) = reply[1].withUnsafeBytes { (Int($0.loadUnaligned(as: UInt64.self)), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
            guard index < sizes.count, reply[0].count == sizes[index] else { throw ValidationError("zmq floor: a reply of the wrong size") }
            reply[0].withUnsafeBytes { destination.baseAddress!.advanced(by: index * frameSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            openNanos = nanos
            received += 1
        }
        return openNanos
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

/// `atrest-bench zmq-floor-part`: the relay, the receiver (put) or the server (get) of `ZMQFloor`, run by `e2e` as its own process.
struct ZMQFloorPart: ParsableCommand, BenchHelperCommand {
    static let configuration = CommandConfiguration(
        commandName: "zmq-floor-part",
        abstract: "(run by e2e) the zmq_proxy relay, the bare sealing receiver of the put's or the bare opening server of the get's CPU floor.",
        shouldDisplay: false)

    @Option(help: "relay, receive or serve.") var role: String
    @Option(help: "receive, serve: the relay's backend endpoint.") var connect = ""
    @Option(help: "serve: the size of a range (a multiple of 64 KiB).") var frameSize = 4 << 20
    @Option(help: "serve: the size of the whole (the last range may be shorter; a multiple of 64 KiB).") var total = 64 << 20

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
        let socket = try ZMQSocket(.router, context: context)
        try socket.connect(connect)
        if role == "serve" { return try serve(socket) }
        guard role == "receive" else { throw ValidationError("--role: relay, receive or serve") }
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

extension ZMQFloorPart {
    /// The get's server: answers each request (a header and a range index)
    /// with the range's bytes (`frameSize`, the last one up to `total`)
    /// opened by raw AES-GCM straight into the reply's buffer (sent without
    /// a copy), then the index and its opening nanoseconds so far. Its
    /// allocator keeps large buffers, as a worker's does.
    func serve(_ socket: ZMQSocket) throws {
        MemoryTuning.keepLargeBuffers()
        guard frameSize > 0, frameSize % RawGCMBench.chunk == 0, total % RawGCMBench.chunk == 0 else {
            throw ValidationError("--frame-size, --total: multiples of 64 KiB")
        }
        let gcm = try RawGCMBench(size: frameSize)
        var openNanos: UInt64 = 0
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        while true {
            guard var frames = try socket.receive(timeoutMs: 1000), frames.count >= 3, let index = frames.popLast(), index.count == 8 else {
                continue
            }
            frames.removeLast()  // the header: identities stay, the reply follows them
            let offset = index.withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) } * frameSize
            guard offset < total else { continue }
            let size = min(frameSize, total - offset)
            let start = BenchClock.threadNanos()
            let plain = try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                try gcm.open(into: UnsafeMutableRawBufferPointer(buffer), count: size)
                count = size
            }
            openNanos &+= BenchClock.threadNanos() &- start
            var stats = index.bytes + [UInt8](repeating: 0, count: 8)
            stats.withUnsafeMutableBytes { $0.storeBytes(of: openNanos, toByteOffset: 8, as: UInt64.self) }
            try socket.send(frames + [Frame(plain), Frame(stats)])
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
