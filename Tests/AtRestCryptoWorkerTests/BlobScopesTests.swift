@testable import AtRestCryptoWorker
import AtRestWire
import Testing

/// Which scope a blob write uses: the request's, else the container's
/// default, else none (the account's current key); enforcement and disabled
/// or unknown scopes are refused with statuses that name the scope.
@Suite struct BlobScopesTests {
    static let context = AccountContext(
        accountID: "acct-1", tenant: "t", managedIdentity: "mi-1", wrappedKey: [1], provider: "managed", keyID: "t.mk-1",
        keyVersion: 1, accountKeyVersion: 1, principalID: "alice",
        keys: [AccountKeyEntry(accountKeyVersion: 2, wrappedKey: [2], provider: "managed", keyID: "t.mk-1", keyVersion: 1, scope: "gold"),
               AccountKeyEntry(accountKeyVersion: 3, wrappedKey: [3], provider: "customer", keyID: "t.ck", keyVersion: 1, scope: "off",
                               disabled: true)])

    @Test func theRequestWinsOverTheContainerDefaultUnlessEnforced() throws {
        let open = [BlobScopes.defaultScopeKey: "gold", BlobScopes.enforceScopeKey: "false"]
        #expect(try BlobScopes.chosen(requested: "", marker: [:], container: "c") == "")
        #expect(try BlobScopes.chosen(requested: "", marker: open, container: "c") == "gold")
        #expect(try BlobScopes.chosen(requested: "other", marker: open, container: "c") == "other")
        var enforced = open
        enforced[BlobScopes.enforceScopeKey] = "true"
        #expect(try BlobScopes.chosen(requested: "gold", marker: enforced, container: "c") == "gold")
        #expect(try BlobScopes.chosen(requested: "", marker: enforced, container: "c") == "gold")
        #expect { try BlobScopes.chosen(requested: "other", marker: enforced, container: "c") } throws: { error in
            let status = error as? RPCStatus
            return status?.code == .failedPrecondition && status?.details["reason"] == "scopeEnforced"
                && status?.message.contains("enforces encryption scope 'gold'") == true
        }
    }

    @Test func unknownAndDisabledScopesAreRefused() throws {
        #expect(try BlobScopes.entry("gold", Self.context).accountKeyVersion == 2)
        #expect { try BlobScopes.entry("nope", Self.context) } throws: { ($0 as? RPCStatus)?.code == .notFound }
        #expect { try BlobScopes.entry("off", Self.context) } throws: { error in
            let status = error as? RPCStatus
            return status?.code == .failedPrecondition && status?.details["reason"] == "scopeDisabled" && status?.details["scope"] == "off"
        }
    }

    @Test func aContainerDefaultIsCheckedAndRecorded() throws {
        #expect(try BlobScopes.markerMetadata(ContainerRequest(container: "c"), Self.context) == [:])
        #expect(try BlobScopes.markerMetadata(ContainerRequest(container: "c", defaultScope: "gold", enforceScope: true), Self.context)
                == [BlobScopes.defaultScopeKey: "gold", BlobScopes.enforceScopeKey: "true"])
        #expect { try BlobScopes.markerMetadata(ContainerRequest(container: "c", defaultScope: "", enforceScope: true), Self.context) } throws: {
            ($0 as? RPCStatus)?.code == .invalidArgument
        }
        #expect { try BlobScopes.markerMetadata(ContainerRequest(container: "c", defaultScope: "off"), Self.context) } throws: {
            ($0 as? RPCStatus)?.code == .failedPrecondition
        }
    }
}
