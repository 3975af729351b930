import AtRestWireTesting
import Testing
@testable import AtRestKeyVault

/// The vault's own state file encoding (not contract, so not in
/// WireContractTests): every field set, through protobuf-c and back.
@Suite struct VaultStateEncodingTests {
    @Test func stateMessagesRoundTripWithEveryField() throws {
        #expect(try WireSample.roundTripProblems(VaultStateMessage.self) == [])
        #expect(try WireSample.roundTripProblems(KeyCreator.self) == [])
    }
}
