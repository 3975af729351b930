import AtRestWireTesting
import Testing
@testable import AtRestFrontDoor

/// The account registry's sealed file encoding (not contract, so not in
/// WireContractTests): every field set, through protobuf-c and back.
@Suite struct RegistryEncodingTests {
    @Test func registryMessagesRoundTripWithEveryField() throws {
        #expect(try WireSample.roundTripProblems(AccountRecord.self) == [])
        #expect(try WireSample.roundTripProblems(AccountRegistryState.self) == [])
    }
}
