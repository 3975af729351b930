// Fuzz target: the compact JWS parser, the claims decoder and the offline
// verifier (docs/FUZZING.md). Byte 0 picks the mode:
//   0: the rest is a whole token, verified as it stands;
//   1: the rest is a claims payload, signed with the target's key so the
//      verifier gets past the signature (claims decoding, issuer, audience
//      and time checks);
//   2: the rest is a JWS header, with a valid payload, signed.
// Invariants: only RPCStatus is thrown, always UNAUTHENTICATED, and never
// a message that repeats more of the input than the limits allow; a token
// that verifies re-signs and verifies to the same claims; base64url
// decoding round-trips.
import CFuzzDriver
import Glibc
import AtRestCrypto
@testable import AtRestTokens
import AtRestWire
import FoundationEssentials

let issuer = "https://identity.fuzz", audience = "atrest"
let key = try! Ed25519.PrivateKey(rawRepresentation: SecretBytes([UInt8](repeating: 7, count: 32)))
let now: Int64 = 1_800_000_000
let verifier = try! TokenVerifier(
    configuration: .init(issuer: issuer, audience: audience, cacheCapacity: 0),
    keys: [IdentitySigningKey(kid: "fuzz", x: Base64URL.encode(key.publicKey.rawRepresentation))],
    now: { now })
let validClaims = TokenClaims(issuer: issuer, subject: "u1", tenant: "t1", audience: audience, roles: ["accountReader:acct-1"],
                              issuedAt: now - 10, expiresAt: now + 600, tokenID: "j1", kind: "user", name: "fuzz")

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    guard size > 0 else { return 0 }
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if let decoded = Base64URL.decode(utf8: rest) {
        check(Base64URL.decode(Base64URL.encode(decoded)) == decoded, "base64url does not round-trip")
    }
    let token: String
    switch data[0] % 3 {
    case 0:
        token = String(decoding: rest, as: UTF8.self)
    case 1:
        token = signed(header: Array(#"{"alg":"EdDSA","typ":"JWT","kid":"fuzz"}"#.utf8), payload: rest)
    default:
        let payload = try! JSONEncoder().encode(validClaims)
        token = signed(header: rest, payload: Array(payload))
    }
    verify(token)
    return 0
}

func signed(header: [UInt8], payload: [UInt8]) -> String {
    let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
    return input + "." + Base64URL.encode(try! key.signature(for: Array(input.utf8)))
}

func verify(_ token: String) {
    let claims: TokenClaims
    do {
        claims = try verifier.verifyWithKnownKeys(token)
    } catch let status as RPCStatus {
        check(status.code == .unauthenticated, "token rejected with \(status.code), not UNAUTHENTICATED")
        return
    } catch {
        fatalError("the verifier threw \(type(of: error)), not RPCStatus: \(error)")
    }
    for role in claims.parsedRoles {
        check(Role(role.description) == role, "role '\(role)' does not round-trip through its text")
    }
    _ = claims.has(.keyAdministrator)
    // A verified claim set re-signs and verifies to itself, when the re-signed
    // token is within the verifier's size limit: the signer encodes every
    // field (absent ones with their defaults), so a token just under the
    // limit can come back just over it (finding of session 14,
    // Fuzz/corpus/fuzz-token/finding-*); the verifier then refuses it with
    // UNAUTHENTICATED like any oversize token.
    let again = try! CompactJWS.sign(claims, kid: "fuzz", key: key)
    guard again.utf8.count <= verifier.configuration.maxTokenBytes else {
        do {
            _ = try verifier.verifyWithKnownKeys(again)
            fatalError("an oversize re-signed token verified")
        } catch let status as RPCStatus {
            check(status.code == .unauthenticated, "an oversize token rejected with \(status.code), not UNAUTHENTICATED")
        } catch {
            fatalError("the verifier threw \(type(of: error)), not RPCStatus: \(error)")
        }
        return
    }
    do {
        try check(verifier.verifyWithKnownKeys(again) == claims, "re-signed claims differ")
    } catch {
        fatalError("re-signed claims do not verify: \(error)")
    }
}


/// Seeds made by the real encoders (Fuzz/corpus/fuzz-token, scripts/fuzz.sh --seeds).
func seeds() throws -> [[UInt8]] {
    let token = try CompactJWS.sign(validClaims, kid: "fuzz", key: key)
    let claims = try JSONEncoder().encode(validClaims)
    return [[0] + Array(token.utf8), [1] + Array(claims), [2] + Array(#"{"alg":"EdDSA","typ":"JWT","kid":"fuzz"}"#.utf8)]
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
