// Fuzz target: the multipart envelope and the RPC header, as the broker and
// the workers read them (docs/FUZZING.md). The input is split into frames
// (byte 0: bit 0 = routed; then frames as u16 big-endian length + bytes).
// Invariants: parsing throws only the envelope's own rejections; the
// broker's header scan (RequestRouting) agrees with the full protobuf-c
// decode whenever both accept the header; a request the worker
// accepts has a call id of 1-64 bytes and a method.
import CFuzzDriver
import Glibc
@testable import AtRestMessaging
@testable import AtRestWire

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let flags = input.first else { return 0 }
    var parts: [[UInt8]] = []
    var index = 1
    while index < input.count {
        let length = index + 1 < input.count ? Int(input[index]) << 8 | Int(input[index + 1]) : 0
        index += 2
        let end = min(input.count, index + length)
        parts.append(index < end ? Array(input[index..<end]) : [])
        index = end
    }
    let frames = parts.map { Frame($0) }
    let limits = MessagingLimits(maxMessageBytes: 1 << 20, maxFrames: 16)
    for frame in frames { checkHeader(frame) }
    let envelope: Envelope
    do {
        envelope = try Envelope.parse(frames, routed: flags & 1 == 1, limits: limits)
    } catch {
        return 0
    }
    check(envelope.frames.count == frames.count - envelope.route.count - 3, "frames lost by Envelope.parse")
    check(envelope.totalBytes == parts.reduce(0) { $0 + $1.count })
    switch envelope.command {
    case .request:
        // The broker's path: scan, validate, then the full parse.
        if let routing = envelope.frames.first.flatMap(RequestRouting.init) {
            try? IncomingRequest.validate(callID: routing.callID, method: routing.method, envelope, limits: limits)
        }
        // The worker's path.
        if let request = try? IncomingRequest.parse(envelope, limits: limits) {
            check((1...64).contains(request.header.callID.count) && !request.header.method.isEmpty)
            check(request.payload.count == max(0, envelope.frames.count - 2))
            _ = request.rpcRequest(deadline: 0)
        }
    case .ready:
        if let body = envelope.frames.dropFirst().first { _ = try? body.withUnsafeBytes { try WorkerReady(serialized: $0) } }
    case .heartbeat:
        if let body = envelope.frames.dropFirst().first { _ = try? body.withUnsafeBytes { try Heartbeat(serialized: $0) } }
    case .reply, .disconnect:
        break
    }
    return 0
}

/// The header scan against the full decode, on any frame.
func checkHeader(_ frame: Frame) {
    let routing = RequestRouting(frame)
    let replyKey = frame.replyCallKey
    _ = frame.replyStatusCode
    if let header = try? frame.withUnsafeBytes({ try RPCHeader(serialized: $0) }) {
        // The scan is stricter than protobuf-c (it rejects field number 0,
        // which protobuf-c skips as unknown): a broker refusal, never a
        // different routing. Where both read the header, they agree.
        guard let routing else { return }
        check(routing.callID == header.callID, "scan and decode disagree on the call id")
        check(routing.method == header.method, "scan and decode disagree on the method")
        check(routing.attempt == header.attempt && routing.timeoutMs == header.timeoutMs, "scan and decode disagree on attempt/timeout")
        check(routing.hasIdempotencyKey == !header.idempotencyKey.isEmpty, "scan and decode disagree on the idempotency key")
    }
    if let reply = try? frame.withUnsafeBytes({ try ReplyHeader(serialized: $0) }), reply.callID.count == 16, let replyKey {
        check(replyKey == CallKey(reply.callID), "scan and decode disagree on the reply's call id")
    }
}

/// Seeds made by the real encoders (Fuzz/corpus/fuzz-envelope, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    let callID = [UInt8](repeating: 0xab, count: 16)
    let header = RPCHeader(method: "atrest.v1.Blob/Get", callID: callID, idempotencyKey: "k1", timeoutMs: 5000,
                           metadata: ["authorization": "Bearer token"])
    let messages: [(Bool, [Frame])] = [
        (true, Envelope.build(route: [Frame("client-1")], .request, [Frame(header.serialized()), Frame([1, 2, 3]), Frame([4, 5])])),
        (false, Envelope.build(.request, [Frame(header.serialized()), Frame([])])),
        (true, Envelope.reply(route: [Frame("worker-1")], header: ReplyHeader(callID: callID, status: RPCStatus(.notFound, "no such blob")), body: [9])),
        (false, Envelope.build(.ready, [Frame(WorkerReady(workerID: "w1", credit: 4, methods: ["atrest.v1.Blob/Get"]).serialized())])),
        (false, Envelope.build(.heartbeat, [Frame(Heartbeat(credit: 2).serialized())])),
        (false, Envelope.build(.disconnect, [])),
    ]
    return messages.map { routed, frames in
        frames.reduce([routed ? 1 : 0]) { out, frame in
            let bytes = frame.bytes
            return out + [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes
        }
    }
}

/// An invariant: a failure stops the run with its message (`precondition`
/// prints none in -O builds); a throw from the condition is passed on.
func check(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String = "invariant broken") rethrows {
    if try !condition() { fatalError(message()) }
}

// SwiftPM links this file's top-level code as `main` (libFuzzer's own main
// is dropped), so it hands the command line to libFuzzer's driver; with
// ATREST_FUZZ_SEEDS=<dir> it writes its seeds there instead (scripts/fuzz.sh --seeds).
if let directory = getenv("ATREST_FUZZ_SEEDS") {
    for (index, seed) in try! seeds().enumerated() {
        guard let file = fopen(String(cString: directory) + "/seed-\(index)", "w"), fwrite(seed, 1, seed.count, file) == seed.count else {
            fatalError("cannot write seed \(index)")
        }
        fclose(file)
    }
    exit(0)
}
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzOne))
