// Fuzz target: the protobuf-c codec and every wire message mapping
// (docs/FUZZING.md). Byte 0 picks the message type (the contract's
// messages, then the services' private state messages, decoded as fields);
// the rest is decoded as that type. Invariants: decoding throws only
// AtRestWire's error types (WireError, RPCStatus, VaultError); a decoded value re-encodes without error; decoding that
// encoding and encoding again gives the same bytes.
import CFuzzDriver
import Glibc
@testable import AtRestWire
import AtRestWireTesting

/// Messages of the proto files that are not contract (WireContractTests.privateState).
let privateState = ["atrest.v1.VaultState", "atrest.v1.VaultKeyCreator", "atrest.v1.AccountRecord", "atrest.v1.AccountRegistryState"]

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    guard size > 0 else { return 0 }
    let selector = Int(data[0])
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let types = WireSample.contract
    if selector % (types.count + privateState.count) < types.count {
        let type = types[selector % (types.count + privateState.count)]
        roundTrip(type, body)
    } else {
        roundTripFields(privateState[selector % (types.count + privateState.count) - types.count], body)
    }
    return 0
}

func roundTrip<T: WireMessage>(_: T.Type, _ body: UnsafeRawBufferPointer) {
    let value: T
    do {
        value = try T(serialized: body)
    } catch is WireError, is RPCStatus, is VaultError {
        // The mapping's own checks (a request without its required part) throw the contract's error types.
        return
    } catch {
        fatalError("\(T.protoName): decoding threw \(type(of: error)), not WireError: \(error)")
    }
    let first: [UInt8]
    do { first = try value.encoded() } catch { fatalError("\(T.protoName): a decoded value does not encode: \(error)") }
    let again: T
    do { again = try T(serialized: first) } catch { fatalError("\(T.protoName): its own encoding does not decode: \(error)") }
    let second: [UInt8]
    do { second = try again.encoded() } catch { fatalError("\(T.protoName): re-decoded value does not encode: \(error)") }
    check(first == second, "\(T.protoName): encode(decode(encode(x))) differs from encode(x)")
}

func roundTripFields(_ name: String, _ body: UnsafeRawBufferPointer) {
    let fields: WireFields
    do {
        fields = try ProtobufCCodec.unpack(body, messageNamed: name)
    } catch is WireError {
        return
    } catch {
        fatalError("\(name): decoding threw \(type(of: error)), not WireError: \(error)")
    }
    do {
        let first = try ProtobufCCodec.pack(fields, messageNamed: name)
        let second = try ProtobufCCodec.pack(try ProtobufCCodec.unpack(first, messageNamed: name), messageNamed: name)
        check(first == second, "\(name): pack(unpack(pack(x))) differs from pack(x)")
    } catch {
        fatalError("\(name): decoded fields do not round-trip: \(error)")
    }
}

/// Seeds made by the real encoders (Fuzz/corpus/fuzz-wire, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    try WireSample.contract.enumerated().map { index, type in
        [UInt8(index)] + (try ProtobufCCodec.pack(try WireSample.fields(type.protoName), messageNamed: type.protoName))
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
