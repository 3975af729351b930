import Testing
@testable import KeyProviderKit

/// The provider config string: every key it knows, every mistake refused by name.
@Suite struct ProviderRulesTests {
    func failure(_ body: () throws -> Void) -> ProviderFailure? {
        do { try body() } catch let error as ProviderFailure { return error } catch { return ProviderFailure(.internal, "\(error)") }
        return nil
    }

    @Test func knownKeysOverrideTheDefaults() throws {
        let rules = try ProviderRules.managed.configured(by: " rotation_days = 30 ; retention_days=0;;")
        #expect(rules.defaultRotationDays == 30 && rules.defaultRetentionDays == 0)
        #expect(try ProviderRules.managed.configured(by: "").defaultRotationDays == 90)
        #expect(try ProviderRules.managed.configured(by: "rotation_days=36500").defaultRotationDays == 36_500)
        let revoked = try ProviderRules.revokedTest.configured(by: "revoke_wrap=1")
        #expect(revoked.wrapRevoked && revoked.unwrapRevoked)
        #expect(try !ProviderRules.revokedTest.configured(by: "revoke_wrap=0").wrapRevoked)
    }

    @Test func mistakesAreRefusedByName() {
        let unknown = failure { _ = try ProviderRules.customer.configured(by: "rotation_dayz=3") }
        #expect(unknown?.status == .invalidArgument)
        #expect(unknown?.message == "customer: unknown config key 'rotation_dayz' (known: rotation_days, retention_days)")
        #expect(failure { _ = try ProviderRules.managed.configured(by: "revoke_wrap=1") }?.message.contains("unknown config key 'revoke_wrap'") == true)
        #expect(failure { _ = try ProviderRules.revokedTest.configured(by: "revoke_wrap=yes") }?.message.contains("must be 0 or 1") == true)
        #expect(failure { _ = try ProviderRules.managed.configured(by: "rotation_days") }?.message.contains("is not key=value") == true)
        for bad in ["-1", "36501", "ten", "1.5"] {
            #expect(failure { _ = try ProviderRules.managed.configured(by: "retention_days=\(bad)") }?.message
                .contains("retention_days must be a number of days (0-36500)") == true, "\(bad)")
        }
    }
}
