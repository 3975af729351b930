import AtRestCrypto
import AtRestTokens
import AtRestWire

/// Authenticates and authorizes data-plane calls on the broker's loop, and
/// attaches the account context workers need.
///
/// Synchronous on purpose (no hand-off per call): token verification hits
/// the verifier's cache after the first call, and the account lookup is a
/// dictionary read (an account not cached yet answers UNAVAILABLE with
/// reason `accountLookup` while the registry reads it:
/// `AccountRegistry.admissionRecord`). An unknown signing key starts (or joins) the verifier's
/// shared key-set fetch and answers UNAVAILABLE with retry_after_ms and
/// reason `keyRefresh` (the call was not started); once that fetch has run,
/// a kid it did not bring is UNAUTHENTICATED with reason `unknownKid` until
/// the rate limit allows the next fetch (`TokenVerifier.verifyOrStartRefresh`).
public struct CallAuthorizer: Sendable {
    let verifier: TokenVerifier
    let registry: AccountRegistry

    public init(verifier: TokenVerifier, registry: AccountRegistry) {
        self.verifier = verifier
        self.registry = registry
    }

    /// The broker's `admit` hook.
    public func admit(_ header: inout RPCHeader) -> RPCStatus? {
        header.accountContext = nil
        do {
            let claims = try authenticate(header)
            let record = try authorize(claims, header: header)
            header.accountContext = record.context(principal: claims.subject)
            return nil
        } catch {
            return error
        }
    }

    func authenticate(_ header: RPCHeader) throws(RPCStatus) -> TokenClaims {
        guard let token = header.bearerToken, !token.isEmpty else {
            throw RPCStatus.noToken
        }
        do {
            return try verifier.verifyOrStartRefresh(token)
        } catch let status as RPCStatus {
            throw status
        } catch {
            throw RPCStatus(.unauthenticated, "token rejected")
        }
    }

    /// Owner: everything; reader: read-only blob methods and the queue,
    /// table, disk and file methods readers may call (queues: list, properties,
    /// peek, get; disks: list, properties, get pages, page ranges; files:
    /// list shares and directories, properties, read). The registry's owners
    /// count too, so an account's creator needs no new token.
    func authorize(_ claims: TokenClaims, header: RPCHeader) throws(RPCStatus) -> AccountRecord {
        guard let account = header.metadata[AccountContext.accountMetadataKey], !account.isEmpty else {
            throw RPCStatus(.invalidArgument, "no account: send metadata 'account: <account id>' with blob calls")
        }
        let found = try registry.admissionRecord(account)
        if header.method.hasPrefix(AccountDataMethod.prefix) { return try AccountDataAccess.authorize(claims, found, account: account) }
        // Roles name an account id, and ids are unique across tenants, but a
        // role granted in another tenant (by that tenant's administrator) must
        // reach nothing here: the caller's tenant is checked before its roles.
        let record = found.flatMap { $0.info.tenant == claims.tenant ? $0 : nil }
        let owner = claims.has(.accountOwner(account)) || (record?.info.owners.contains(claims.subject) ?? false)
        let reader = claims.has(.accountReader(account))
        guard let record, owner || reader else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' (\(claims.subject)) has no access to account '\(account)' (or it does not exist)")
        }
        guard owner || BlobMethod.readOnly.contains(header.method) || QueueMethod.readerMethods.contains(header.method)
                || TableMethod.readerMethods.contains(header.method) || DiskMethod.readerMethods.contains(header.method)
                || FileMethod.readerMethods.contains(header.method) else {
            throw RPCStatus(.permissionDenied, "principal '\(claims.name)' can only read account '\(account)'; \(header.method) needs the accountOwner role")
        }
        if let refusal = AccountDeletion.refusal(record.info) { throw refusal }
        return record
    }

    /// Any call of the control plane: a verified caller (async: may refresh keys).
    func caller(_ header: RPCHeader) async throws -> TokenClaims {
        guard let token = header.bearerToken, !token.isEmpty else {
            throw RPCStatus.noToken
        }
        return try await verifier.verify(token)
    }

    /// An owner or reader of the account in the account's own tenant.
    func canRead(_ claims: TokenClaims, _ record: AccountRecord) -> Bool {
        let id = record.info.accountID
        return record.info.tenant == claims.tenant
            && (claims.has(.accountOwner(id)) || claims.has(.accountReader(id)) || record.info.owners.contains(claims.subject))
    }

    /// An owner of the account in the account's own tenant.
    func canManage(_ claims: TokenClaims, _ record: AccountRecord) -> Bool {
        record.info.tenant == claims.tenant
            && (claims.has(.accountOwner(record.info.accountID)) || record.info.owners.contains(claims.subject))
    }
}
