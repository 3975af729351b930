// Fuzz target: the table $filter parser and the typed literals a client
// writes (docs/FORMAT.md "Tables", docs/FUZZING.md). The input is the
// filter text; the parsed filter is evaluated against an entity whose
// properties come from the same bytes.
// Invariants: only TableFilterError is thrown, with a position inside the
// text (or just past it); a datetime literal formats and parses back to
// the same instant; a guid literal formats and parses back to its bytes;
// any Int64 formats as a datetime without trapping.
import CFuzzDriver
import Glibc
@testable import AtRestStorage

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let filter = try TableFilter(parsing: text)
        _ = filter.matches(entity(from: bytes))
    } catch {
        check(error.position >= 0 && error.position <= TableFilterParser.maxLength + 1, "error position \(error.position) outside the filter")
    }
    if let micros = TableLiteral.datetime(text) {
        check(TableLiteral.datetime(TableLiteral.format(datetime: micros)) == micros, "datetime '\(text)' does not round-trip")
    }
    if let guid = TableLiteral.guid(text) {
        check(TableLiteral.guid(TableLiteral.format(guid: guid)) == guid, "guid '\(text)' does not round-trip")
    }
    _ = TableLiteral.binary(text)
    if bytes.count >= 8 {
        let micros = bytes.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let formatted = TableLiteral.format(datetime: micros)
        if let back = TableLiteral.datetime(formatted) { check(back == micros, "\(micros) formats as '\(formatted)', which parses as \(back)") }
    }
    return 0
}

/// An entity with one property of each type, their values taken from `bytes`.
func entity(from bytes: [UInt8]) -> TableEntity {
    let word = bytes.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    let text = String(decoding: bytes.prefix(16), as: UTF8.self)
    return TableEntity(partitionKey: text, rowKey: String(text.reversed()), properties: [
        "s": .string(text), "i": .int32(Int32(truncatingIfNeeded: word)), "l": .int64(word),
        "d": .double(Double(bitPattern: UInt64(bitPattern: word))), "b": .bool(word & 1 == 1),
        "t": .datetime(word), "g": .guid(Array(bytes.prefix(16))), "x": .binary(Array(bytes.prefix(4))),
    ], etag: "", timestamp: word)
}

/// Seeds made by the real encoders (Fuzz/corpus/fuzz-filter, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    ["PartitionKey eq 'p1' and RowKey gt 'a'", "Age ge 30 and not (Name eq 'O''Hara') or Big lt 5000000000L",
     "Born lt datetime'2026-01-02T03:04:05.123456Z' and Id eq guid'01234567-89ab-cdef-0123-456789abcdef'",
     "Blob eq X'cafe' or Score le -2.5e1 or Active eq true", "2026-12-04T11:50:00+01:00"].map { Array($0.utf8) }
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
