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
