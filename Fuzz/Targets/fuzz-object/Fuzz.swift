// Fuzz target: the object format reader (docs/FORMAT.md, docs/FUZZING.md):
// bytes read back from storage that someone may have altered. Byte 0
// picks the mode:
//   0: the rest is a stored object, opened with the target's account key
//      (seeds are real objects sealed with it, so mutations reach the
//      header, the metadata block and the segments);
//   1: the rest is a fixed header;
//   2: the rest is an (already decrypted) metadata block;
//   3: the rest is an (already decrypted) block manifest;
//   4: the rest is plaintext, sealed and opened again.
// Invariants: only StorageError is thrown; every decoder's output encodes
// and decodes to itself; sealing then opening gives the data back.
import CFuzzDriver
import Glibc
import AtRestCrypto
@testable import AtRestStorage

let accountKey = try! AccountKey(key: SecretBytes([UInt8](repeating: 0x42, count: 32)),
                                 reference: KeyReference(provider: "managed", keyID: "fuzz", keyVersion: 1, accountKeyVersion: 1))
let context = Array("fuzz/objects".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    guard size > 0 else { return 0 }
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    do {
        switch data[0] % 5 {
        case 0: try open(rest)
        case 1:
            let header = try ObjectHeader.decode(rest)
            try check(ObjectHeader.decode(try header.encode()) == header, "header does not round-trip")
        case 2:
            let metadata = try ObjectMetadata.decode(rest)
            try check(ObjectMetadata.decode(try metadata.encode()) == metadata, "metadata does not round-trip")
        case 3: try manifest(rest)
        default:
            let metadata = ObjectMetadata(name: String(decoding: rest.prefix(40), as: UTF8.self), userMetadata: ["k": "v"])
            let sealed = try ObjectFormat.seal(rest, metadata: metadata, accountKey: accountKey, context: context)
            let opened = try ObjectFormat.open(sealed, accountKey: accountKey, context: context)
            check(opened.data == rest && opened.metadata.name == metadata.name, "seal then open lost data")
        }
    } catch is StorageError {
    } catch {
        fatalError("threw \(type(of: error)), not StorageError: \(error)")
    }
    return 0
}

func open(_ stored: [UInt8]) throws {
    let reader = try ObjectReader(source: BufferSource(stored), accountKey: accountKey, context: context)
    let all = try reader.readAll()
    check(UInt64(all.count) == reader.dataLength)
    if all.count > 1 {
        // A range read gives the same bytes as the whole read.
        let range = UInt64(all.count / 3)..<UInt64(all.count - 1)
        var part: [UInt8] = []
        try reader.read(range: range) { part += $0 }
        check(part[...] == all[Int(range.lowerBound)..<Int(range.upperBound)], "range read differs from the whole read")
    }
    if reader.isManifest { try manifest(all) }
}

func manifest(_ bytes: [UInt8]) throws {
    let manifest = try BlockManifest.decode(bytes)
    try check(BlockManifest.decode(try manifest.encode()) == manifest, "block manifest does not round-trip")
    // What the store reads of a manifest it has opened.
    _ = manifest.length
    _ = try manifest.compositeHash()
    _ = manifest.blockFileNames(objectHash: "0123")
}


/// Seeds made by the real encoders (Fuzz/corpus/fuzz-object, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    var out: [[UInt8]] = []
    for size in [0, 100, 70_000] {
        let metadata = ObjectMetadata(name: "object-\(size)", userMetadata: ["owner": "fuzz"], contentType: "text/plain")
        let sealed = try ObjectFormat.seal([UInt8](repeating: 0x61, count: size), metadata: metadata, accountKey: accountKey, context: context)
        out.append([0] + sealed)
        if size == 0 {
            out.append([1] + Array(sealed.prefix(try ObjectHeader.fixedLength(fromPreamble: sealed))))
            out.append([2] + (try metadata.encode()))
        }
    }
    let entry = BlockManifest.Entry(blockID: [1, 2], length: 4096, headerHash: [UInt8](repeating: 3, count: 32),
                                    contentHash: [UInt8](repeating: 4, count: 32), file: "s-00ff-0001")
    out.append([3] + (try BlockManifest(entries: [entry, entry]).encode()))
    out.append([3] + (try BlockManifest(version: 1, commitID: "0123456789abcdef", entries: [entry]).encode()))
    out.append([4] + Array("plaintext".utf8))
    return out
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
