// The 'revoked-test' key-provider plug-in. Answers every unwrap as revoked (and wrap too with revoke_wrap=1), so the revocation path can be tested end to end.
// Built as a .dynamic library; see docs/KEY-PROVIDERS.md.
import CKeyProviderABI
import KeyProviderKit

/// The plug-in's one exported symbol (see atrest_key_provider.h).
@_cdecl("atrest_key_provider_v1")
public func atrestKeyProviderV1() -> UnsafePointer<atrest_kp_v1> { Plugin.table }

enum Plugin {
    nonisolated(unsafe) static let table = ProviderTable.make(name: ProviderRules.revokedTest.name) { config, host, handle, msg, cap in
        ProviderTable.open(.revokedTest, config, host, handle, msg, cap)
    }
}
