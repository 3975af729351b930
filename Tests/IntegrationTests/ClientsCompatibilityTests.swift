import AtRestCrypto
import AtRestIdentity
import AtRestKeyVault
import AtRestWire
import Foundation
import Testing

/// Wire compatibility (docs/COMPATIBILITY.md): messages encoded by release 0
/// are kept as hex in Tests/fixtures/release-0 and must decode with today's
/// schema to the same field values. A renumbered field, a changed type or a
/// reused number makes old bytes decode differently and fails here.
///
/// The fixtures are never regenerated, only added to: recording writes only
/// files that do not exist (`ATREST_RECORD_FIXTURES=1 swift test --filter
/// ClientsCompatibilityTests`), and a case is never edited once recorded.
@Suite struct ClientsCompatibilityTests {
    struct Case: Sendable {
        var name: String
        var encode: @Sendable () -> [UInt8]
        /// nil when the bytes decode to the recorded value, else what came out.
        var check: @Sendable ([UInt8]) throws -> String?
    }

    static func fixture<M: WireMessage & Equatable & Sendable>(_ name: String, _ value: M) -> Case {
        Case(name: name, encode: { value.serialized() }, check: { bytes in
            let decoded = try M(serialized: bytes)
            return decoded == value ? nil : "\(decoded)"
        })
    }

    static let directory = ClientTools.repoRoot + "/Tests/fixtures/release-0"
    static let callID: [UInt8] = Array(0..<16)

    /// Release 0. Append new cases at the end; never change an existing one.
    static let cases: [Case] = [
        fixture("rpc-header", RPCHeader(
            method: "atrest.v1.Blob/Put", callID: callID, idempotencyKey: "put-7f3a", attempt: 2, timeoutMs: 29_500,
            metadata: ["authorization": "Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln", "account": "acct-a"],
            streamSeq: 3, endOfStream: true, credit: 8)),
        fixture("reply-header-ok", ReplyHeader(callID: callID)),
        fixture("reply-header-unavailable", ReplyHeader(
            callID: callID, status: RPCStatus(.unavailable, "the token's signing key is being fetched; retry", retryAfterMs: 100,
                                              details: ["reason": "unknownKid"]), credit: 1)),
        fixture("identity-login-request", IdentityLoginRequest(tenant: "t1", clientID: "alice", secret: "alice-secret-123456")),
        fixture("identity-token", IdentityToken(token: "eyJhbGciOiJFZERTQSJ9.e30.c2ln", expiresAtUnix: 1_767_225_600,
                                                principalID: "p-0123456789abcdef", tenant: "t1")),
        fixture("account-create-request", AccountCreateRequest(accountID: "acct-a")),
        fixture("account-info", AccountInfo(
            accountID: "acct-a", tenant: "t1", managedIdentity: "mi-00aa11bb", createdAtUnix: 1_767_225_600,
            encryption: AccountEncryption(keySource: "managed", provider: "managed", keyID: "mk-5c1e0f", keyVersion: 2,
                                          changedAtUnix: 1_767_229_200, accountKeyVersion: 1, algorithm: "AES-256-GCM"),
            owners: ["p-0123456789abcdef"])),
        fixture("blob-put-request", BlobPutRequest(container: "photos", name: "2025/cat.jpg", contentType: "image/jpeg",
                                                   metadata: ["camera": "x100"], contentHash: Array(repeating: 0xAB, count: 32))),
        fixture("blob-get-request-range", BlobGetRequest(container: "photos", name: "big.bin", range: 4_194_304..<8_388_608)),
        fixture("blob-get-response", BlobGetResponse(
            properties: BlobProperties(container: "photos", name: "big.bin", length: 10_485_760, contentType: "application/octet-stream",
                                       createdAtMs: 1_767_225_600_123, contentHash: Array(repeating: 0x5A, count: 32), metadata: ["k": "v"]),
            offset: 4_194_304)),
        fixture("stage-block-request", StageBlockRequest(container: "photos", name: "big.bin", blockID: Array("blk-00000001".utf8),
                                                         contentHash: Array(repeating: 0x11, count: 32))),
        fixture("commit-blocks-request", CommitBlocksRequest(container: "photos", name: "big.bin",
                                                             blockIDs: [Array("blk-00000000".utf8), Array("blk-00000001".utf8)],
                                                             contentType: "application/octet-stream")),
        fixture("blob-list-response", BlobListResponse(blobs: [BlobProperties(container: "photos", name: "a", length: 1)],
                                                       nextPageToken: "cGFnZS0y")),
        fixture("vault-wrap-response", WrapResponse(wrapped: (0..<60).map { UInt8(truncatingIfNeeded: $0 &* 7) },
                                                    key: KeyRef(provider: "managed", keyID: "mk-5c1e0f", version: 2),
                                                    checkValue: [0xC0, 0xFF, 0xEE, 0x01])),
    ]

    static func path(_ name: String) -> String { "\(directory)/\(name).hex" }

    @Test func releaseZeroBytesDecodeWithTodaysSchema() throws {
        for fixture in Self.cases {
            guard let text = try? String(contentsOfFile: Self.path(fixture.name), encoding: .utf8) else {
                Issue.record("fixture \(fixture.name) is not recorded; record new fixtures with ATREST_RECORD_FIXTURES=1")
                continue
            }
            let bytes = try #require(Self.hexDecode(text), "\(fixture.name).hex is not hex")
            #expect(!bytes.isEmpty || fixture.name == "reply-header-ok")
            let mismatch = try fixture.check(bytes)
            #expect(mismatch == nil, "release-0 \(fixture.name) decodes to \(mismatch ?? "")")
        }
    }

    /// A fixture file without its case (a case deleted from this file) fails:
    /// old encodings must keep being checked.
    @Test func everyRecordedFixtureHasItsCase() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory).filter { $0.hasSuffix(".hex") }
        let names = Set(files.map { String($0.dropLast(4)) })
        #expect(names == Set(Self.cases.map(\.name)), "fixtures without a case: \(names.subtracting(Self.cases.map(\.name)))")
    }

    /// The generator: writes the encodings of cases that have no file yet.
    /// Never overwrites (a recorded fixture is history, not a snapshot).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ATREST_RECORD_FIXTURES"] == "1"))
    func recordMissingFixtures() throws {
        try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
        var written = 0
        for fixture in Self.cases where !FileManager.default.fileExists(atPath: Self.path(fixture.name)) {
            let hex = fixture.encode().map { String(format: "%02x", $0) }.joined()
            try (hex + "\n").write(toFile: Self.path(fixture.name), atomically: true, encoding: .utf8)
            #expect(try fixture.check(fixture.encode()) == nil)
            written += 1
        }
        print("recorded \(written) new fixture(s) in \(Self.directory)")
    }

    static func hexDecode(_ text: String) -> [UInt8]? { Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
}
