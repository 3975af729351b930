// Fuzz target: the NBD server's protocol (docs/FUZZING.md), the bytes a
// client sends over TCP: client flags, option haggling (NBD_OPT_GO/INFO
// with names and information requests, LIST, ABORT, EXPORT_NAME, anything
// else), then transmission requests (magic, flags, type, handle, offset,
// length, WRITE data). The input drives `NBDSession`, the state machine
// `NBDServer`'s socket loop uses, and every request it hands out runs
// through `NBDServer.perform` on in-memory exports (the harness, not the
// thing tested).
//
// Byte 0 picks the setting: bit 7 small limits (64-byte options, 4 KiB
// payloads, so the drop-and-refuse paths are reached), bit 6 one export
// only (the empty name selects it), bits 0-5 seed the split of the second
// run. The rest is the client's byte stream. Seeds are real clients'
// streams (recorded-*: nbdinfo, qemu-io, qemu-img, libnbd through a
// recording proxy, NBDRecordingTests).
//
// Invariants: no crash, hang or leak; the stream fed as the server reads
// it (`wanted` bytes at a time) and fed in arbitrary pieces gives the same
// events and replies; every handshake reply is well-formed (magic, a known
// reply type, lengths that add up, NBD_INFO_* of their sizes, error
// messages UTF-8 without NUL); transmission starts only after an ACK to
// NBD_OPT_GO carrying the export's size or an NBD_OPT_EXPORT_NAME reply;
// every reply is a simple reply with the request's handle and a known
// errno, a successful READ carrying exactly its length; a request handed
// to the export is within it, aligned, not over the payload limit and not a
// write to a read-only export (so one out of range is refused with an
// error); the exports fail the run if anything reaches past their size.
import CFuzzDriver
import Dispatch
import Glibc
import Logging
import Synchronization
@testable import AtRestNBD

/// Pages of 4 KiB, allocated when written (reads of the rest are zeros).
final class Pages: Sendable {
    static let pageSize = 4096
    let pages = Mutex<[UInt64: [UInt8]]>([:])

    /// Calls `body` for each page piece of [offset, offset + length): page index, start in the page, start in the range, count.
    static func pieces(_ offset: UInt64, _ length: Int, _ body: (UInt64, Int, Int, Int) -> Void) {
        var done = 0
        while done < length {
            let position = offset + UInt64(done)
            let within = Int(position % UInt64(pageSize))
            let count = min(pageSize - within, length - done)
            body(position / UInt64(pageSize), within, done, count)
            done += count
        }
    }

    func read(offset: UInt64, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        pages.withLock { pages in
            Self.pieces(offset, length) { index, within, done, count in
                guard let page = pages[index] else { return }
                out.replaceSubrange(done ..< done + count, with: page[within ..< within + count])
            }
        }
        return out
    }

    func write(offset: UInt64, _ bytes: [UInt8]) {
        pages.withLock { pages in
            Self.pieces(offset, bytes.count) { index, within, done, count in
                var page = pages.removeValue(forKey: index) ?? [UInt8](repeating: 0, count: Self.pageSize)
                page.replaceSubrange(within ..< within + count, with: bytes[done ..< done + count])
                pages[index] = page
            }
        }
    }

    func zero(offset: UInt64, length: UInt64) {
        pages.withLock { pages in
            for index in Array(pages.keys) {
                let pageStart = index * UInt64(Self.pageSize)
                let from = max(pageStart, offset), to = min(pageStart + UInt64(Self.pageSize), offset + length)
                guard from < to else { continue }
                pages[index]!.replaceSubrange(Int(from - pageStart) ..< Int(to - pageStart), with: repeatElement(0, count: Int(to - from)))
            }
        }
    }
}

/// An in-memory export whose every call checks it stays inside the export.
struct MemoryExport: NBDExport {
    let name: String
    let bytes: UInt64
    let isReadOnly: Bool
    let minimumBlockSize: UInt32
    /// The size cannot be read (an export whose store is down).
    let unavailable: Bool
    let pages = Pages()

    var size: UInt64 {
        get async throws {
            if unavailable { throw NBDError(.io, "export '\(name)' is unavailable") }
            return bytes
        }
    }

    func inside(_ offset: UInt64, _ length: UInt64, _ what: String) {
        let (end, overflow) = offset.addingReportingOverflow(length)
        check(!overflow && end <= bytes, "\(what) of \(length) at \(offset) reached past the export '\(name)' of \(bytes) bytes")
        check(offset % UInt64(minimumBlockSize) == 0 && length % UInt64(minimumBlockSize) == 0, "\(what) at \(offset)+\(length) is misaligned")
    }

    func writable(_ what: String) { check(!isReadOnly, "\(what) reached the read-only export '\(name)'") }

    func read(offset: UInt64, length: Int) async throws -> [UInt8] {
        inside(offset, UInt64(length), "read")
        return pages.read(offset: offset, length: length)
    }

    func write(offset: UInt64, data: [UInt8]) async throws {
        writable("write")
        inside(offset, UInt64(data.count), "write")
        pages.write(offset: offset, data)
    }

    func flush() async throws {}

    func trim(offset: UInt64, length: UInt64) async throws {
        writable("trim")
        inside(offset, length, "trim")
        pages.zero(offset: offset, length: length)
    }

    func writeZeroes(offset: UInt64, length: UInt64) async throws {
        writable("write-zeroes")
        inside(offset, length, "write-zeroes")
        pages.zero(offset: offset, length: length)
    }
}

/// The recorded clients used "disk": 1 MiB of 512-byte blocks (NBDRecordingTests).
func exports(single: Bool) -> [MemoryExport] {
    let disk = MemoryExport(name: "disk", bytes: 1 << 20, isReadOnly: false, minimumBlockSize: 512, unavailable: false)
    if single { return [disk] }
    return [disk,
            MemoryExport(name: "ro", bytes: 64 << 10, isReadOnly: true, minimumBlockSize: 1, unavailable: false),
            MemoryExport(name: "gone", bytes: 1 << 20, isReadOnly: false, minimumBlockSize: 1, unavailable: true)]
}

let logger = Logger(label: "fuzz-nbd") { _ in SwiftLogNoOpLogHandler() }
let knownErrnos: Set<UInt32> = [0, 1, 5, 12, 22, 28, 75, 95, 108]

/// What the session did with one stream, in a form two runs can compare.
struct Transcript: Equatable {
    var bytes: [UInt8] = []
    mutating func add(_ tag: UInt8, _ content: [UInt8] = []) {
        bytes.append(tag)
        bytes += content
    }
}

/// Runs the client's `stream` through a fresh session and fresh exports;
/// `piece` says how much to feed next (given what the session wants and
/// what is left).
func run(_ stream: [UInt8], setting: UInt8, piece: (Int, Int) -> Int) async -> Transcript {
    var configuration = NBDServerConfiguration()
    if setting & 0x80 != 0 {
        configuration.maxOptionLength = 64
        configuration.maxPayload = 4096
    }
    let exports = exports(single: setting & 0x40 != 0)
    var session = NBDSession(exports: exports, configuration: configuration)
    var transcript = Transcript()
    var handshake = Handshake(exports: exports)
    var chosen: (export: MemoryExport, size: UInt64)?
    var offset = 0
    check(session.greeting == Array("NBDMAGICIHAVEOPT".utf8) + [0, 3], "greeting")
    while true {
        guard let event = session.next() else {
            check(!session.isClosed, "closed without a .close event")
            guard offset < stream.count else { break }  // the client went away
            let wanted = session.wanted
            check(wanted > 0, "the session stalled: it wants nothing and has nothing to do")
            let count = min(stream.count - offset, piece(wanted, stream.count - offset))
            session.receive(Array(stream[offset ..< offset + count]))
            offset += count
            continue
        }
        switch event {
        case .send(let bytes):
            check(chosen == nil, "handshake bytes sent during transmission")
            handshake.replies(bytes)
            transcript.add(1, bytes)
        case .size(let export):
            check(chosen == nil, "a size asked during transmission")
            let size = try? await export.size
            session.sized(size)
            transcript.add(2, Array(export.name.utf8))
        case .transmit(let export, let size):
            check(chosen == nil, "transmission started twice")
            guard let memory = export as? MemoryExport else { fatalError("an export the harness did not give") }
            handshake.checkStart(memory, size: size)
            chosen = (memory, size)
            transcript.add(3, Array(export.name.utf8))
        case .request(let request, let payload):
            guard let chosen else { fatalError("a request before transmission") }
            checkHandedOut(request, payload: payload, export: chosen.export, size: chosen.size, maxPayload: configuration.maxPayload)
            let reply = await NBDServer.perform(request, payload: payload, on: chosen.export, logger: logger)
            checkReply(reply, to: request, refused: false)
            transcript.add(4, reply)
        case .refuse(let request, let errno):
            check(chosen != nil, "a refusal before transmission")
            check(errno != .ok, "a refusal without an error")
            let reply = NBDSimpleReply.encode(error: errno, handle: request.handle)
            checkReply(reply, to: request, refused: true)
            transcript.add(5, reply)
        case .close(let error):
            transcript.add(6, Array((error?.description ?? "").utf8))
            check(session.isClosed, "a .close while still open")
            check(session.next() == nil && session.wanted == 0, "events or wants after .close")
            return transcript
        }
    }
    return transcript
}

/// A request the session handed to the export: within it, aligned, small enough, allowed.
func checkHandedOut(_ request: NBDRequest, payload: [UInt8], export: MemoryExport, size: UInt64, maxPayload: Int) {
    guard let command = request.command else { fatalError("unknown command \(request.type) handed out") }
    check(request.flags.subtracting([.fua, .noHole]).isEmpty, "flags \(request.flags.rawValue) handed out")
    check(command == .writeZeroes || !request.flags.contains(.noHole), "NO_HOLE on \(command)")
    check(payload.count == (command == .write ? Int(request.length) : 0), "payload of \(payload.count) bytes for \(command) of \(request.length)")
    if command == .flush { return }
    check(!export.isReadOnly || command == .read, "\(command) handed out on a read-only export")
    let (end, overflow) = request.offset.addingReportingOverflow(UInt64(request.length))
    check(request.length > 0 && !overflow && end <= size, "\(command) at \(request.offset)+\(request.length) outside \(size) bytes handed out")
    check(request.offset % UInt64(export.minimumBlockSize) == 0 && request.length % export.minimumBlockSize == 0, "misaligned \(command) handed out")
    check(command != .read && command != .write || Int(request.length) <= maxPayload, "\(command) of \(request.length) over the payload limit handed out")
}

/// A simple reply: magic, a known errno, the request's handle, a READ's data on success only.
func checkReply(_ reply: [UInt8], to request: NBDRequest, refused: Bool) {
    check(reply.count >= NBDSimpleReply.headerSize, "reply of \(reply.count) bytes")
    guard let header = try? NBDSimpleReply.parse(Array(reply.prefix(NBDSimpleReply.headerSize))) else { fatalError("reply without the simple reply magic") }
    check(header.handle == request.handle, "reply handle \(header.handle) for request handle \(request.handle)")
    check(knownErrnos.contains(header.error), "errno \(header.error)")
    check(!refused || header.error != 0, "a refused request answered with success")
    let data = reply.count - NBDSimpleReply.headerSize
    if header.error == 0, request.command == .read {
        check(data == Int(request.length), "READ of \(request.length) answered with \(data) bytes")
    } else {
        check(data == 0, "\(data) bytes of data after a reply that is not a successful READ")
    }
}

/// Checks the handshake's replies as a client would read them.
struct Handshake {
    let exports: [MemoryExport]
    /// The last reply was the ACK of a successful NBD_OPT_GO (its INFO_EXPORT's size and flags).
    var wentWith: (size: UInt64, flags: UInt16)?
    /// The last send was an NBD_OPT_EXPORT_NAME reply (its size and flags).
    var exportNameReply: (size: UInt64, flags: UInt16)?

    init(exports: [MemoryExport]) { self.exports = exports }

    mutating func replies(_ bytes: [UInt8]) {
        wentWith = nil
        exportNameReply = nil
        if bytes.count == 10 || bytes.count == 134, bytes.uint64(at: 0) != NBDWire.optionReplyMagic {
            // NBD_OPT_EXPORT_NAME's reply: size, flags, maybe 124 zeros.
            check(bytes.count == 10 || bytes[10...].allSatisfy { $0 == 0 }, "export name reply padding")
            exportNameReply = (bytes.uint64(at: 0), bytes.uint16(at: 8))
            return
        }
        var index = 0
        var info: (size: UInt64, flags: UInt16)?
        while index < bytes.count {
            check(bytes.count - index >= 20, "option reply header cut short")
            check(bytes.uint64(at: index) == NBDWire.optionReplyMagic, "option reply magic")
            let option = bytes.uint32(at: index + 8), type = bytes.uint32(at: index + 12), length = Int(bytes.uint32(at: index + 16))
            check(NBDReplyType(rawValue: type) != nil, "reply type \(type)")
            check(bytes.count - index - 20 >= length, "option reply data cut short")
            let data = Array(bytes[(index + 20) ..< (index + 20 + length)])
            index += 20 + length
            let last = index == bytes.count
            switch NBDReplyType(rawValue: type)! {
            case .ack:
                check(length == 0, "ACK with data")
                check(last, "ACK before the end of a reply")
                if option == NBDOption.go.rawValue {
                    guard let info else { fatalError("NBD_OPT_GO acknowledged without NBD_INFO_EXPORT") }
                    wentWith = info
                }
            case .server:
                check(option == NBDOption.list.rawValue && length >= 4 && Int(data.uint32(at: 0)) <= length - 4, "NBD_REP_SERVER")
            case .info:
                check(length >= 2, "NBD_REP_INFO without a type")
                switch NBDInfoType(rawValue: data.uint16(at: 0)) {
                case .export:
                    check(length == 12, "NBD_INFO_EXPORT of \(length) bytes")
                    info = (data.uint64(at: 2), data.uint16(at: 10))
                case .blockSize:
                    check(length == 14, "NBD_INFO_BLOCK_SIZE of \(length) bytes")
                    let minimum = data.uint32(at: 2), preferred = data.uint32(at: 6), maximum = data.uint32(at: 10)
                    check(minimum.nonzeroBitCount == 1 && preferred.nonzeroBitCount == 1 && preferred >= max(minimum, 512)
                        && maximum % minimum == 0 && maximum >= preferred, "block sizes \(minimum)/\(preferred)/\(maximum)")
                case .name:
                    check(String(validating: data[2...], as: UTF8.self) != nil, "NBD_INFO_NAME not UTF-8")
                default:
                    fatalError("NBD_INFO type \(data.uint16(at: 0)) never asked")
                }
            default:
                check(type & 0x8000_0000 != 0, "reply type \(type)")
                check(last, "an error reply before the end of a reply")
                check(length <= 4096 && !data.contains(0) && String(validating: data, as: UTF8.self) != nil,
                           "error message of \(length) bytes is not a string (UTF-8, no NUL, at most 4096 bytes)")
            }
        }
    }

    /// Transmission starts right after GO's ACK or the EXPORT_NAME reply, with the size and flags they gave.
    func checkStart(_ export: MemoryExport, size: UInt64) {
        guard let (given, flags) = wentWith ?? exportNameReply else { fatalError("transmission without NBD_OPT_GO's ACK or an export name reply") }
        check(given == size && size == export.bytes, "transmission with size \(size), the client was told \(given)")
        check(flags & 1 != 0 && (flags & 2 != 0) == export.isReadOnly, "transmission flags \(flags)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let setting = data[0]
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let (asRead, inPieces) = blocking {
        let asRead = await run(stream, setting: setting) { wanted, _ in wanted }
        var state = UInt32(setting & 0x3f) &* 2_654_435_761 | 1
        let inPieces = await run(stream, setting: setting) { _, left in
            state = state &* 1_664_525 &+ 1_013_904_223
            return state >> 28 == 0 ? left : 1 + Int(state >> 16) % 97
        }
        return (asRead, inPieces)
    }
    check(asRead == inPieces, "the events depend on how the stream was split")
    return 0
}

/// Runs async code to its end from the synchronous fuzz entry point.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let result = Box<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        result.value = await body()
        done.signal()
    }
    done.wait()
    return result.value!
}

/// The result of `blocking`'s task, read once the semaphore says it is there.
final class Box<T>: @unchecked Sendable { var value: T? }

/// An invariant: a failure stops the run with its message (`precondition`
/// prints none in -O builds).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}


// SwiftPM links this file's top-level code as `main`: it hands the command
// line to libFuzzer's driver. The seeds are recorded from real clients by
// NBDRecordingTests (scripts/fuzz.sh --seeds), so ATREST_FUZZ_SEEDS writes none here.
if getenv("ATREST_FUZZ_SEEDS") != nil { exit(0) }
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzOne))
