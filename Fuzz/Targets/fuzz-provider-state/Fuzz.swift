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

/// An invariant: a failure stops the run with its message (`precondition`
/// prints none in -O builds); a throw from the condition is passed on.
func check(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String = "invariant broken") rethrows {
    if try !condition() { fatalError(message()) }
}

// SwiftPM links this file's top-level code as `main` (libFuzzer's own main
// is dropped), so it hands the command line to libFuzzer's driver.
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzOne))
