import AtRestTokens
import AtRestWire

/// Which hashed names of the audit log a reader gets back in clear.
extension KeyVault {
    /// `entries` as `caller` may read them. Names the caller may see come
    /// back in clear: its own tenant; the accounts its token names (its
    /// managed identity's account, the accounts of its account roles); and,
    /// in entries made by a caller of its own tenant, every name in the
    /// entry (they are names of that tenant, or names the vault told that
    /// caller in an error). The system administrator sees every name. Every
    /// other name stays a `acct~`/`tenant~` hash.
    func auditReadable(_ entries: [AuditEntry], for caller: VaultCaller) -> [AuditEntry] {
        let names = audit.names
        let ownTenant = (try? names.hash(caller.tenantID, .tenant)) ?? ""
        var visible: Set<String> = [ownTenant]
        for account in [caller.accountID] + caller.roles.compactMap({ Role($0)?.account }) {
            if let hashed = try? names.hash(account, .account), !hashed.isEmpty { visible.insert(hashed) }
        }
        let everything = isSystemAdministrator(caller)
        return entries.map { entry in
            names.resolve(entry, visible: visible, all: everything || (!ownTenant.isEmpty && entry.tenantID == ownTenant))
        }
    }
}

extension Role {
    /// The account an account role is scoped to.
    var account: String? {
        switch self {
        case .accountOwner(let account), .accountReader(let account), .accountIdentity(let account): account
        default: nil
        }
    }
}
