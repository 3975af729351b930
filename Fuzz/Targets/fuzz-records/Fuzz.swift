// Fuzz target: the record decoders of queues and tables (docs/FORMAT.md,
// docs/FUZZING.md): sealed records, message, queue, table and entity
// records, entity pieces, and the pop receipt a client sends back. Byte 0
// picks the mode; the rest is the record.
// Invariants: only StorageError is thrown; a decoded record encodes to
// bytes that decode to the same record (and, for entities, encode to the
// same bytes again); a sealed record opens to what was sealed; an entity
// split into pieces joins back to itself.
import CFuzzDriver
import Glibc
import AtRestCrypto
@testable import AtRestStorage

let accountKey = try! AccountKey(key: SecretBytes([UInt8](repeating: 0x42, count: 32)),
                                 reference: KeyReference(provider: "managed", keyID: "fuzz", keyVersion: 1, accountKeyVersion: 1))
let map = try! RecordMapName(BackendContainer("fuzz"), "records")
let context = SealedRecord.context(["fuzz", "records"])

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    guard size > 0 else { return 0 }
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    do {
        switch data[0] % 8 {
        case 0:
            // A stored record: open it, then read it as each record kind.
            let plain = try SealedRecord.open(rest, context: context, map: map, key: "k", accountKey: accountKey)
            for kind in 1...4 { try? decode(kind, plain) }
        case 1, 2, 3, 4:
            try decode(Int(data[0] % 8), rest)
        case 5:
            let sealed = try SealedRecord.seal(rest, context: context, map: map, key: "k", accountKey: accountKey)
            try check(SealedRecord.open(sealed, context: context, map: map, key: "k", accountKey: accountKey) == rest)
        case 6:
            let records = EntityRecord.records(main: "e-p-r", sealed: rest)
            if !rest.isEmpty {
                let joined = try EntityRecord.join(main: "e-p-r", value: records["e-p-r"]!) { records[$0] }
                check(joined == rest, "entity pieces do not join back")
            }
            // A main record as found on disk.
            _ = try? EntityRecord.join(main: "e-p-r", value: rest) { _ in [1, 2, 3] }
        default:
            let text = String(decoding: rest, as: UTF8.self)
            if let parsed = MessageRecord.parse(popReceipt: text, id: [UInt8](repeating: 1, count: 16)) {
                check(MessageRecord.visibleTime(ofKey: parsed.key) != nil, "a pop receipt's key has no visible time")
            }
            _ = MessageRecord.visibleTime(ofKey: text)
            _ = EntityRecord.isPieceKey(text)
        }
    } catch is StorageError {
    } catch {
        fatalError("threw \(type(of: error)), not StorageError: \(error)")
    }
    return 0
}

func decode(_ kind: Int, _ bytes: [UInt8]) throws {
    switch kind {
    case 1:
        let record = try MessageRecord(decoding: bytes)
        try check(MessageRecord(decoding: record.encoded) == record, "message record does not round-trip")
        _ = record.key
        _ = record.popReceipt
        _ = record.expired(at: 0)
    case 2:
        let record = try QueueRecord(decoding: bytes)
        try check(QueueRecord(decoding: try record.encoded) == record, "queue record does not round-trip")
    case 3:
        let record = try TableRecord(decoding: bytes)
        try check(TableRecord(decoding: try record.encoded) == record, "table record does not round-trip")
    default:
        let entity = try EntityRecord.decode(bytes)
        let encoded = try EntityRecord.encode(entity)
        check(encoded.count == EntityRecord.encodedSize(entity), "encodedSize is not the encoding's size")
        try check(EntityRecord.encode(try EntityRecord.decode(encoded)) == encoded, "entity record does not round-trip")
    }
}


/// Seeds made by the real encoders (Fuzz/corpus/fuzz-records, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    let message = MessageRecord(id: [UInt8](repeating: 1, count: 16), insertionTime: 1_800_000_000_000, expirationTime: 1_800_000_600_000,
                                nextVisibleTime: 1_800_000_030_000, dequeueCount: 2, receiptSecret: [UInt8](repeating: 2, count: 16),
                                body: Array("hello".utf8))
    let queue = QueueRecord(id: [UInt8](repeating: 3, count: 16), creationTime: 1_800_000_000_000, name: "orders", metadata: ["team": "a"])
    let table = TableRecord(id: [UInt8](repeating: 4, count: 16), creationTime: 1_800_000_000_000, name: "Customers")
    let entity = try EntityRecord.encode(TableEntity(partitionKey: "p1", rowKey: "r1", properties: [
        "Name": .string("Ann"), "Age": .int32(31), "Big": .int64(1 << 40), "Score": .double(2.5), "Active": .bool(true),
        "Born": .datetime(640_000_000_000_000), "Id": .guid([UInt8](repeating: 5, count: 16)), "Blob": .binary([0xca, 0xfe]),
    ], etag: String(repeating: "ab", count: 16), timestamp: 1_800_000_000_000_000))
    return [
        [0] + (try SealedRecord.seal(entity, context: context, map: map, key: "k", accountKey: accountKey)),
        [0] + (try SealedRecord.seal(message.encoded, context: context, map: map, key: "k", accountKey: accountKey)),
        [1] + message.encoded, [2] + (try queue.encoded), [3] + (try table.encoded), [4] + entity,
        [5] + Array("record".utf8), [6] + entity, [7] + Array(message.popReceipt.utf8),
    ]
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
