// Fuzz target: the key providers' state decoder (KeyProviderKit
// StateCoding, docs/KEY-PROVIDERS.md, docs/FUZZING.md): the blob the vault
// stores for a provider, decrypted. Invariants: only ProviderFailure is
// thrown (typed); a decoded state encodes and decodes to the same keys.
import AtRestCrypto
import CFuzzDriver
import Glibc
@testable import KeyProviderKit

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let keys: [String: StoredKey]
    do {
        keys = try StateCoding.decode(UnsafeRawBufferPointer(start: data, count: size), provider: "fuzz")
    } catch {
        return 0
    }
    let encoded = StateCoding.encode(keys)
    do {
        let again = try encoded.withUnsafeBytes { bytes throws(ProviderFailure) in try StateCoding.decode(bytes, provider: "fuzz") }
        check(again.count == keys.count, "state does not round-trip: \(again.count) keys, not \(keys.count)")
        for (id, key) in keys {
            guard let other = again[id] else { fatalError("key '\(id)' lost in the round trip") }
            check(other.versions == key.versions && other.state == key.state && other.createdAt == key.createdAt
                  && other.purgeAfter == key.purgeAfter && other.flags == key.flags, "key '\(id)' differs after the round trip")
        }
        check(StateCoding.encode(again) == encoded, "encoding is not stable")
    } catch {
        fatalError("an encoded state does not decode: \(error)")
    }
    return 0
}

/// Seeds made by the real encoders (Fuzz/corpus/fuzz-provider-state, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    var one = StoredKey(id: "t1/k1", versions: [SecretBytes([UInt8](repeating: 1, count: 32))])
    one.createdAt = 1_800_000_000
    var two = StoredKey(id: "t2/k2", versions: [SecretBytes([UInt8](repeating: 2, count: 32)), SecretBytes([UInt8](repeating: 3, count: 32))])
    two.rotationDays = 90
    return [StateCoding.encode([:]), StateCoding.encode([one.id: one]), StateCoding.encode([one.id: one, two.id: two])]
        .map { $0.withUnsafeBytes { Array($0) } }
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
