@testable import AtRestCryptoWorker
import AtRestWire
import Testing

/// What a worker takes from the header the front door forwards: the typed
/// `account_context`, read from the header frame as it arrives.
@Suite struct AccountContextHeaderTests {
    static let context = AccountContext(accountID: "acct-1", tenant: "t", managedIdentity: "mi-1", wrappedKey: [1, 2, 3],
                                        provider: "managed", keyID: "t.mk-1", keyVersion: 2, accountKeyVersion: 1,
                                        principalID: "alice")

    func received(_ header: RPCHeader) throws -> RPCHeader { try RPCHeader(serialized: header.serialized()) }

    @Test func theContextTheFrontDoorSetIsTheOneUsed() throws {
        let header = try received(RPCHeader(method: BlobMethod.get.name, metadata: ["account": "acct-1"], accountContext: Self.context))
        #expect(try BlobService.accountContext(header) == Self.context)
    }

    @Test func aCallWithoutAContextIsRefused() throws {
        for context in [nil, AccountContext(accountID: "", tenant: "t", managedIdentity: "", wrappedKey: [], provider: "",
                                            keyID: "", keyVersion: 0, accountKeyVersion: 0, principalID: "")] {
            let header = try received(RPCHeader(method: BlobMethod.get.name, metadata: ["account": "acct-1"], accountContext: context))
            let error = #expect(throws: RPCStatus.self) { try BlobService.accountContext(header) }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.message.contains("through the front door") == true)
        }
    }
}
