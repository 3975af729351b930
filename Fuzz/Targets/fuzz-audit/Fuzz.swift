// Fuzz target: the vault's audit-log line parser and chain verifier
// (docs/FUZZING.md). Byte 0 picks the mode:
//   0: the rest is audit.log as found on disk (with a fixed head file);
//   1: the rest is audit.log.head;
//   2: the rest is lines whose chain hashes the target computes with the
//      chain key, so the verifier gets past the HMAC to the sequence and
//      gap rules; also each line as an AuditEntry.
// Invariants: only VaultError is thrown; the scan's counts are consistent
// (verified <= lines, verified bytes <= complete bytes <= the log's size);
// an entry parsed from a line prints back as that line.
import AtRestCrypto
import AtRestWire
import CFuzzDriver
import Glibc
@testable import AtRestKeyVault

let chainKey = SecretBytes([UInt8](repeating: 0x5a, count: 32))

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    do {
        switch data[0] % 3 {
        case 0: try scan(rest, head: nil)
        case 1: try scan([], head: rest)
        default: try scan(chained(rest), head: nil)
        }
    } catch {
        // VaultError is the only error the scan's signature allows (typed throws).
    }
    return 0
}

func scan(_ log: [UInt8], head: [UInt8]?) throws(VaultError) {
    let scan = try AuditScan(log: log, head: head, key: chainKey)
    check(scan.verified <= scan.lines && scan.verifiedBytes <= scan.completeBytes && scan.completeBytes <= log.count, "inconsistent scan counts")
    _ = scan.intact(newVault: false)
    _ = scan.problem(logPath: "audit.log", headPath: "audit.log.head", newVault: false)
    _ = scan.verification(logPath: "audit.log", headPath: "audit.log.head")
}

/// Each line of `text` followed by its chain hash (HMAC of the previous hash and the line).
func chained(_ text: [UInt8]) throws(VaultError) -> [UInt8] {
    var out: [UInt8] = []
    var last = AuditScan.zeroHash
    for line in text.split(separator: 0x0a, omittingEmptySubsequences: false) {
        if let entry = AuditEntry(line: String(decoding: line, as: UTF8.self)[...]) {
            let printed = entry.line
            check(AuditEntry(line: printed[...]).map(\.line) == printed, "audit line '\(printed)' does not round-trip")
        }
        let hash = try VaultCrypto.hmacSHA256(key: chainKey, last, Array(line))
        out += Array(line) + [0x09] + Array(Hex.encode(hash).utf8) + [0x0a]
        last = hash
    }
    return out
}

/// Seeds made by the real encoders (Fuzz/corpus/fuzz-audit, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    let entries = (1...3).map { seq in
        AuditEntry(seq: UInt64(seq), time: 1_800_000_000 + Int64(seq), callID: [UInt8](repeating: UInt8(seq), count: 16),
                   principalID: "u1", tenantID: "t1", operation: seq == 2 ? AuditEntry.gapOperation : "Wrap",
                   key: KeyRef(provider: "managed", keyID: "t1/k1", version: 1), result: "OK", detail: "seed \(seq)")
    }
    let lines = Array(entries.map(\.line).joined(separator: "\n").utf8)
    let log = try chained(lines)
    let lastHash = Array(log.split(separator: 0x0a).last!.split(separator: 0x09).last!)
    let anchor = "3\t" + String(decoding: lastHash, as: UTF8.self)
    let mac = Hex.encode(try VaultCrypto.hmacSHA256(key: chainKey, Array("anchor\t\(anchor)".utf8)))
    return [[0] + log, [1] + Array("\(anchor)\t\(mac)\n".utf8), [2] + lines]
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
