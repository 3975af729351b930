import AtRestCrypto
import AtRestKeyVault
import AtRestWire
import Testing
@testable import AtRestFrontDoor
@testable import AtRestIdentity
import AtRestTokens

/// The front door's per-call gate without a broker or a process: real
/// Ed25519 tokens, a real verifier and a real (encrypted, on-disk) registry.
@Suite struct CallAuthorizerTests {
    let directory = TemporaryDirectory("authorizer")
    let issuer: TokenIssuer
    let authorizer: CallAuthorizer
    let record: AccountRecord

    init() async throws {
        let key = try Ed25519.PrivateKey()
        issuer = TokenIssuer(kid: "k1", key: key, issuer: "atrest-identity", audience: "atrest", lifetimeSeconds: 3600)
        let verifier = try TokenVerifier(
            configuration: .init(issuer: "atrest-identity", audience: "atrest"),
            keys: [IdentitySigningKey(kid: "k1", x: Base64URL.encode(key.publicKey.rawRepresentation))])
        let registry = try await AccountRegistry.forTest(directory.path + "/frontdoor")
        let record = AccountRecord(
            info: AccountInfo(accountID: "acct-1", tenant: "contoso", managedIdentity: "mi-1", createdAtUnix: 1,
                              encryption: AccountEncryption(keySource: "managed", provider: "managed", keyID: "t0.mk-1",
                                                            keyVersion: 2, changedAtUnix: 1),
                              owners: ["creator"]),
            wrappedKey: [1, 2, 3], registered: KeyRef(provider: "managed", keyID: "t0.mk-1", version: 2), managedKeyID: "t0.mk-1")
        _ = try await registry.update("acct-1") { _ in record }
        self.record = record
        authorizer = CallAuthorizer(verifier: verifier, registry: registry)
    }

    func token(subject: String = "alice", tenant: String = "contoso", roles: [String] = []) throws -> String {
        let now = UnixClock.now()
        return try issuer.sign(TokenClaims(issuer: "atrest-identity", subject: subject, tenant: tenant, audience: "atrest",
                                           roles: roles, issuedAt: now, expiresAt: now + 600, tokenID: "jti-\(subject)",
                                           kind: "user", name: subject))
    }

    func header(_ method: String, token: String?, account: String? = "acct-1", forged: AccountContext? = nil) -> RPCHeader {
        var metadata: [String: String] = [:]
        if let token { metadata["authorization"] = "Bearer " + token }
        if let account { metadata[AccountContext.accountMetadataKey] = account }
        return RPCHeader(method: method, metadata: metadata, accountContext: forged)
    }

    /// The context as a worker reads it: from the header frame the broker forwards.
    func attachedContext(_ header: RPCHeader) throws -> AccountContext {
        try #require(try RPCHeader(serialized: header.serialized()).accountContext)
    }

    @Test func ownerRoleMayWriteAndGetsTheAccountContext() throws {
        var h = header(BlobMethod.put.name, token: try token(roles: ["accountOwner:acct-1"]))
        #expect(authorizer.admit(&h) == nil)
        let context = try attachedContext(h)
        #expect(context == record.context(principal: "alice"))
        #expect(context.wrappedKey == [1, 2, 3] && context.keyVersion == 2 && context.principalID == "alice")
    }

    @Test func readerMayReadButNotWrite() throws {
        let reader = try token(roles: ["accountReader:acct-1"])
        for method in BlobMethod.readOnly.sorted() {
            var h = header(method, token: reader)
            #expect(authorizer.admit(&h) == nil, "\(method)")
        }
        for method in [BlobMethod.put.name, BlobMethod.delete.name, BlobMethod.stageBlock.name, BlobMethod.commitBlocks.name, BlobMethod.createContainer.name] {
            var h = header(method, token: reader)
            let refused = authorizer.admit(&h)
            #expect(refused?.code == .permissionDenied, "\(method)")
            #expect(refused?.message.contains("needs the accountOwner role") == true)
            #expect(h.accountContext == nil)
        }
    }

    /// Disks: readers list, show, read pages and list page ranges; every other disk method needs the owner.
    @Test func diskReaderMayReadPagesButNotWriteThem() throws {
        let reader = try token(roles: ["accountReader:acct-1"])
        let owner = try token(roles: ["accountOwner:acct-1"])
        #expect(DiskMethod.readerMethods == [DiskMethod.listDisks.name, DiskMethod.getDiskProperties.name, DiskMethod.getPages.name,
                                             DiskMethod.listPageRanges.name])
        for method in DiskMethod.all.map(\.name) {
            var asReader = header(method, token: reader), asOwner = header(method, token: owner)
            #expect(authorizer.admit(&asOwner) == nil, "\(method)")
            let refused = authorizer.admit(&asReader)
            if DiskMethod.readerMethods.contains(method) {
                #expect(refused == nil, "\(method)")
            } else {
                #expect(refused?.code == .permissionDenied && refused?.message.contains("needs the accountOwner role") == true, "\(method)")
                #expect(asReader.accountContext == nil)
            }
        }
    }

    /// Files: readers list shares and directories, show and read; every other file method needs the owner.
    @Test func fileReaderMayReadButNotWrite() throws {
        let reader = try token(roles: ["accountReader:acct-1"])
        let owner = try token(roles: ["accountOwner:acct-1"])
        #expect(FileMethod.readerMethods == [FileMethod.listShares.name, FileMethod.getShareProperties.name, FileMethod.listDirectory.name,
                                             FileMethod.readFile.name, FileMethod.getFileProperties.name])
        for method in FileMethod.all.map(\.name) {
            var asReader = header(method, token: reader), asOwner = header(method, token: owner)
            #expect(authorizer.admit(&asOwner) == nil, "\(method)")
            let refused = authorizer.admit(&asReader)
            if FileMethod.readerMethods.contains(method) {
                #expect(refused == nil, "\(method)")
            } else {
                #expect(refused?.code == .permissionDenied && refused?.message.contains("needs the accountOwner role") == true, "\(method)")
                #expect(asReader.accountContext == nil)
            }
        }
    }

    @Test func registryOwnerNeedsNoRole() throws {
        var h = header(BlobMethod.put.name, token: try token(subject: "creator"))
        #expect(authorizer.admit(&h) == nil)
        #expect(try attachedContext(h).principalID == "creator")
    }

    @Test func rolesOfAnotherAccountGrantNothing() throws {
        var h = header(BlobMethod.get.name, token: try token(roles: ["accountOwner:acct-2", "accountReader:acct-2"]))
        let refused = authorizer.admit(&h)
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.message.contains("has no access to account 'acct-1'") == true)
    }

    /// A role for this account's id granted in another tenant, and even the
    /// registry's owner subject under another tenant's token, reach nothing.
    @Test func rolesGrantedInAnotherTenantGrantNothing() throws {
        for (subject, roles) in [("mallory", ["accountOwner:acct-1", "accountReader:acct-1"]), ("creator", [])] {
            var h = header(BlobMethod.get.name, token: try token(subject: subject, tenant: "fabrikam", roles: roles))
            let refused = authorizer.admit(&h)
            #expect(refused?.code == .permissionDenied && refused?.message.contains("has no access to account 'acct-1'") == true)
            #expect(h.accountContext == nil)
        }
        let claims = TokenClaims(issuer: "atrest-identity", subject: "mallory", tenant: "fabrikam", audience: "atrest",
                                 roles: ["accountOwner:acct-1"], issuedAt: 0, expiresAt: 1, tokenID: "j", kind: "user", name: "mallory")
        #expect(!authorizer.canRead(claims, record) && !authorizer.canManage(claims, record))
        var same = claims
        same.tenant = "contoso"
        #expect(authorizer.canRead(same, record) && authorizer.canManage(same, record))
    }

    @Test func unknownAccountIsDeniedLikeAForeignOne() async throws {
        var h = header(BlobMethod.get.name, token: try token(roles: ["accountOwner:nope"]), account: "nope")
        // Not cached: the broker's loop does not wait for the registry read, the client retries.
        let first = authorizer.admit(&h)
        #expect(first?.code == .unavailable && first?.details["reason"] == "accountLookup" && (first?.retryAfterMs ?? 0) > 0)
        var refused: RPCStatus?
        try await waitUntil("the lookup of 'nope' to finish") {
            refused = authorizer.admit(&h)
            return refused?.code != .unavailable
        }
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.message.contains("(or it does not exist)") == true)
    }

    @Test func missingTokenAccountOrBadTokenIsRefused() throws {
        var noToken = header(BlobMethod.get.name, token: nil)
        #expect(authorizer.admit(&noToken)?.code == .unauthenticated)
        var empty = header(BlobMethod.get.name, token: "")
        #expect(authorizer.admit(&empty)?.code == .unauthenticated)
        var garbage = header(BlobMethod.get.name, token: "not.a.token")
        let rejected = authorizer.admit(&garbage)
        #expect(rejected?.code == .unauthenticated)
        var noAccount = header(BlobMethod.get.name, token: try token(roles: ["accountOwner:acct-1"]), account: nil)
        #expect(authorizer.admit(&noAccount)?.code == .invalidArgument)
        var blankAccount = header(BlobMethod.get.name, token: try token(roles: ["accountOwner:acct-1"]), account: "")
        #expect(authorizer.admit(&blankAccount)?.code == .invalidArgument)
    }

    @Test func aClientSuppliedContextIsStrippedOrReplaced() throws {
        let forged = AccountContext(accountID: "acct-1", tenant: "evil", managedIdentity: "x", wrappedKey: [9],
                                    provider: "customer", keyID: "k", keyVersion: 1, accountKeyVersion: 1, principalID: "mallory")
        var refused = header(BlobMethod.get.name, token: nil, forged: forged)
        #expect(authorizer.admit(&refused) != nil)
        #expect(refused.accountContext == nil)
        var admitted = header(BlobMethod.get.name, token: try token(roles: ["accountOwner:acct-1"]), forged: forged)
        #expect(authorizer.admit(&admitted) == nil)
        #expect(try attachedContext(admitted).tenant == "contoso")
        #expect(try attachedContext(admitted).principalID == "alice")
        // Set directly in the header, naming another account: the call still runs as the one it was authorized for.
        var other = forged
        other.accountID = "acct-2"
        var impersonating = header(BlobMethod.get.name, token: try token(roles: ["accountOwner:acct-1"]), forged: other)
        #expect(authorizer.admit(&impersonating) == nil)
        #expect(try attachedContext(impersonating) == record.context(principal: "alice"))
    }

    @Test func controlPlaneReadAndManageRules() throws {
        func claims(_ subject: String, _ roles: [String]) -> TokenClaims {
            TokenClaims(issuer: "i", subject: subject, tenant: "contoso", audience: "atrest", roles: roles, issuedAt: 0,
                        expiresAt: 1, tokenID: "t", kind: "user", name: subject)
        }
        #expect(authorizer.canRead(claims("a", ["accountReader:acct-1"]), record))
        #expect(!authorizer.canManage(claims("a", ["accountReader:acct-1"]), record))
        #expect(authorizer.canManage(claims("a", ["accountOwner:acct-1"]), record))
        #expect(authorizer.canManage(claims("creator", []), record) && authorizer.canRead(claims("creator", []), record))
        #expect(!authorizer.canRead(claims("a", ["accountOwner:acct-2"]), record))
    }
}
