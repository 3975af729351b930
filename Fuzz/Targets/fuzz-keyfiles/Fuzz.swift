// Fuzz target: the CURVE key-pair and allow files and the service
// credentials file (docs/FUZZING.md). Byte 0 picks the parser; the rest is
// written to a private file in /dev/shm and read through the real path-
// based reader. Invariants: only each reader's own error type is thrown; a
// key pair read from a file writes and reads back to the same keys; every
// allowed key is 40 characters; a secret is one trimmed, non-empty line.
import AtRestClient
import AtRestMessaging
import AtRestServiceKit
import CFuzzDriver
import Glibc

let directory = "/dev/shm/atrest-fuzz-keyfiles-\(getpid())"
let path = directory + "/input"
let copy = directory + "/copy"
_ = mkdir(directory, 0o700)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    check(fd >= 0, "cannot write \(path)")
    check(write(fd, data + 1, size - 1) == size - 1, "short write to \(path)")
    close(fd)
    switch data[0] % 3 {
    case 0:
        do {
            let pair = try CurveKeyFile.readKeyPair(path)
            unlink(copy)
            try CurveKeyFile.writeKeyPair(pair, to: copy)
            let back = try CurveKeyFile.readKeyPair(copy)
            check(back.publicKey == pair.publicKey && back.exportSecretKey() == pair.exportSecretKey(), "key pair does not round-trip")
        } catch is CurveKeyFile.Failure {
        } catch {
            fatalError("readKeyPair threw \(type(of: error)), not CurveKeyFile.Failure")
        }
    case 1:
        do {
            for key in try CurveKeyFile.readAllowList(path) { check(key.utf8.count == 40, "allowed key '\(key)' is not 40 characters") }
        } catch is CurveKeyFile.Failure {
        } catch {
            fatalError("readAllowList threw \(type(of: error)), not CurveKeyFile.Failure")
        }
    default:
        do {
            let secret = try CredentialsFile.readSecret(path)
            check(!secret.isEmpty && !secret.contains("\n") && secret.first != " " && secret.last != " ", "secret is not one trimmed line")
        } catch is CredentialsError {
        } catch {
            fatalError("readSecret threw \(type(of: error)), not CredentialsError")
        }
    }
    return 0
}

/// Seeds made by the real encoders (Fuzz/corpus/fuzz-keyfiles, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    let pair = try CurveKeyPair.generate()
    let other = try CurveKeyPair.generate()
    return [
        [0] + Array("public=\(pair.publicKey)\nsecret=\(pair.exportSecretKey())\n".utf8),
        [1] + Array("# clients\n\(pair.publicKey)\n  \(other.publicKey) laptop\n".utf8),
        [2] + Array("  s3cr3t-value-from-bootstrap\n".utf8),
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
