import AtRestWire

/// Encryption scopes on the blob write path: which of the account's keys a
/// write seals under — the request's scope, else the container's default
/// scope, else the account's current key — and the container's default,
/// kept in its sealed marker. Reads need none of this: an object's header
/// records the account-key version it was sealed with.
enum BlobScopes {
    /// Marker metadata keys (the marker is sealed under the account key).
    static let defaultScopeKey = "atrest.scope"
    static let enforceScopeKey = "atrest.enforce-scope"

    /// The marker metadata recording `request`'s default scope (checked to
    /// exist and be enabled).
    static func markerMetadata(_ request: ContainerRequest, _ context: AccountContext) throws -> [String: String] {
        guard !request.defaultScope.isEmpty else {
            if request.enforceScope { throw RPCStatus(.invalidArgument, "enforce_scope needs a default_scope to enforce") }
            return [:]
        }
        _ = try entry(request.defaultScope, context)
        return [defaultScopeKey: request.defaultScope, enforceScopeKey: request.enforceScope ? "true" : "false"]
    }

    /// The scope a write into a container with `marker` metadata uses ("": the account's current key).
    static func chosen(requested: String, marker: [String: String], container: String) throws -> String {
        let fallback = marker[defaultScopeKey] ?? ""
        if !requested.isEmpty, marker[enforceScopeKey] == "true", requested != fallback {
            throw RPCStatus(.failedPrecondition,
                            "container '\(container)' enforces encryption scope '\(fallback)'; a write naming scope '\(requested.prefix(80))' is refused",
                            details: ["reason": "scopeEnforced", "scope": fallback])
        }
        return requested.isEmpty ? fallback : requested
    }

    /// The key entry of scope `name`: NOT_FOUND when the account has no such
    /// scope, FAILED_PRECONDITION when it is disabled.
    static func entry(_ name: String, _ context: AccountContext) throws -> AccountKeyEntry {
        guard let entry = context.keys.first(where: { $0.scope == name && !$0.infrastructure }) else {
            throw RPCStatus(.notFound, "encryption scope '\(name.prefix(80))' does not exist in account '\(context.accountID)'")
        }
        if entry.disabled { throw disabled(entry.scope, account: context.accountID) }
        return entry
    }

    /// The refusal for data under a disabled scope (writes naming it, reads of objects sealed under it).
    static func disabled(_ scope: String, account: String) -> RPCStatus {
        RPCStatus(.failedPrecondition,
                  "encryption scope '\(scope)' of account '\(account)' is disabled: its data cannot be read or written until an owner enables it (`atrest scope enable \(account) \(scope)`)",
                  details: ["reason": "scopeDisabled", "scope": scope])
    }
}
