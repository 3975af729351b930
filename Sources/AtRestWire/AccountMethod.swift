/// The methods of `service Account` (account.proto), answered by the front door.
public enum AccountMethod {
    public static let service = "atrest.v1.Account"
    public static let create = RPCMethod<AccountCreateRequest, AccountInfo>(service, "Create")
    public static let get = RPCMethod<AccountRequest, AccountInfo>(service, "Get")
    public static let list = RPCMethod<AccountListRequest, AccountListResponse>(service, "List")
    public static let getEncryption = RPCMethod<AccountRequest, AccountEncryption>(service, "GetEncryption")
    public static let setEncryption = RPCMethod<AccountSetEncryptionRequest, AccountEncryption>(service, "SetEncryption")
    public static let move = RPCMethod<AccountMoveRequest, AccountMoveResponse>(service, "Move")
    public static let delete = RPCMethod<AccountDeleteRequest, AccountInfo>(service, "Delete")
    public static let recover = RPCMethod<AccountRequest, AccountInfo>(service, "Recover")
    /// A new account key version for new writes; older versions stay readable (owner).
    public static let rotateKey = RPCMethod<AccountRequest, AccountEncryption>(service, "RotateKey")
    public static let createScope = RPCMethod<AccountScopeCreateRequest, EncryptionScope>(service, "CreateScope")
    public static let getScope = RPCMethod<AccountScopeRequest, EncryptionScope>(service, "GetScope")
    public static let listScopes = RPCMethod<AccountRequest, AccountScopeListResponse>(service, "ListScopes")
    public static let disableScope = RPCMethod<AccountScopeRequest, EncryptionScope>(service, "DisableScope")
    public static let enableScope = RPCMethod<AccountScopeRequest, EncryptionScope>(service, "EnableScope")
    /// The re-encryption job (owner): start it (returns at once), show it, cancel it.
    public static let startReencrypt = RPCMethod<AccountReencryptRequest, ReencryptJob>(service, "StartReencrypt")
    public static let getJob = RPCMethod<AccountRequest, ReencryptJob>(service, "GetJob")
    public static let cancelJob = RPCMethod<AccountRequest, ReencryptJob>(service, "CancelJob")
    /// Deletes the wrapped keys of versions a completed job moved every blob off (owner).
    public static let retireVersions = RPCMethod<AccountRequest, AccountInfo>(service, "RetireVersions")

    public static let all: [RPCMethodInfo] = [create.info, get.info, list.info, getEncryption.info, setEncryption.info, move.info,
                                              delete.info, recover.info, rotateKey.info]
        + [createScope.info, getScope.info, listScopes.info, disableScope.info, enableScope.info]
        + [startReencrypt.info, getJob.info, cancelJob.info, retireVersions.info]
}
