import Testing
@testable import AtRestCrypto

@Suite struct KeyWrapAndPolicyTests {
    @Test func wrapUnwrapRoundTripAndContextBinding() throws {
        let kek = try SecretBytes(randomCount: 32)
        let aek = try SecretBytes(randomCount: 32)
        let context = Array("managed/acct-1/v3".utf8)
        let wrapped = try KeyWrap.wrap(aek, with: kek, context: context)
        #expect(wrapped.count == 1 + 12 + 32 + 16)
        #expect(try KeyWrap.unwrap(wrapped, with: kek, context: context) == aek)
        // Another key reference, another KEK, or a changed byte: refused.
        #expect(throws: CryptoError.self) { try KeyWrap.unwrap(wrapped, with: kek, context: Array("managed/acct-2/v3".utf8)) }
        #expect(throws: CryptoError.self) { try KeyWrap.unwrap(wrapped, with: try SecretBytes(randomCount: 32), context: context) }
        for index in [0, 5, 20, wrapped.count - 1] {
            var bad = wrapped; bad[index] ^= 4
            #expect(throws: CryptoError.self) { try KeyWrap.unwrap(bad, with: kek, context: context) }
        }
        #expect(throws: CryptoError.self) { try KeyWrap.unwrap(Array(wrapped.prefix(20)), with: kek, context: context) }
    }

    /// Debian 12 ships no FIPS provider: the switch must fail loudly, not
    /// silently fall back. Where a FIPS provider is installed it must succeed.
    @Test func fipsSwitchFailsClearlyWithoutProvider() throws {
        do {
            try CryptoPolicy.enableFIPS()
            #expect(CryptoPolicy.isFIPSEnabled)
        } catch let error as CryptoError {
            #expect(error.code == .fipsUnavailable)
            // Debian: no provider. A host with one but where this test process
            // already fetched algorithms: refused as "fetched ... before".
            #expect(error.message.contains("FIPS provider") || error.message.contains("before FIPS was enabled"))
            #expect(!CryptoPolicy.isFIPSEnabled)
        }
    }
}
