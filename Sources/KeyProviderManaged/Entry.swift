// The 'managed' key-provider plug-in. Service-managed keys: generated in the vault, one per account, named by the
// front door `mk-<24 random hex>` (no account name reaches object headers) and qualified by the vault with the
// tenant's tag (`t<12 hex>.mk-…`, docs/KEY-PROVIDERS.md "Tenants"); rotated automatically every rotation_days
// (default 90); old versions stay for unwrap.
// Built as a .dynamic library; see docs/KEY-PROVIDERS.md.
import CKeyProviderABI
import KeyProviderKit

/// The plug-in's one exported symbol (see atrest_key_provider.h).
@_cdecl("atrest_key_provider_v1")
public func atrestKeyProviderV1() -> UnsafePointer<atrest_kp_v1> { Plugin.table }

enum Plugin {
    nonisolated(unsafe) static let table = ProviderTable.make(name: ProviderRules.managed.name) { config, host, handle, msg, cap in
        ProviderTable.open(.managed, config, host, handle, msg, cap)
    }
}
