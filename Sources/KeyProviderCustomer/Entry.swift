// The 'customer' key-provider plug-in. Customer-managed keys: create or import (BYOK), rotate, enable/disable, expiry, soft delete with retention and purge protection, recover.
// Built as a .dynamic library; see docs/KEY-PROVIDERS.md.
import CKeyProviderABI
import KeyProviderKit

/// The plug-in's one exported symbol (see atrest_key_provider.h).
@_cdecl("atrest_key_provider_v1")
public func atrestKeyProviderV1() -> UnsafePointer<atrest_kp_v1> { Plugin.table }

enum Plugin {
    nonisolated(unsafe) static let table = ProviderTable.make(name: ProviderRules.customer.name) { config, host, handle, msg, cap in
        ProviderTable.open(.customer, config, host, handle, msg, cap)
    }
}
