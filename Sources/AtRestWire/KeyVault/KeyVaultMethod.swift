/// The methods of `service KeyVault` (vault.proto).
public enum KeyVaultMethod {
    public static let service = "atrest.v1.KeyVault"
    public static let createKey = RPCMethod<CreateKeyRequest, KeyResponse>(service, "CreateKey")
    public static let importKey = RPCMethod<ImportKeyRequest, KeyResponse>(service, "ImportKey")
    public static let getImportKey = RPCMethod<GetImportKeyRequest, GetImportKeyResponse>(service, "GetImportKey")
    public static let getKey = RPCMethod<KeyRequest, KeyResponse>(service, "GetKey")
    public static let listKeys = RPCMethod<ListKeysRequest, ListKeysResponse>(service, "ListKeys")
    public static let rotateKey = RPCMethod<RotateKeyRequest, KeyResponse>(service, "RotateKey")
    public static let enableKey = RPCMethod<KeyRequest, KeyResponse>(service, "EnableKey")
    public static let disableKey = RPCMethod<KeyRequest, KeyResponse>(service, "DisableKey")
    public static let deleteKey = RPCMethod<KeyRequest, KeyResponse>(service, "DeleteKey")
    public static let recoverKey = RPCMethod<KeyRequest, KeyResponse>(service, "RecoverKey")
    public static let purgeKey = RPCMethod<KeyRequest, EmptyMessage>(service, "PurgeKey")
    public static let grantAccess = RPCMethod<AccessRequest, AccessResponse>(service, "GrantAccess")
    public static let revokeAccess = RPCMethod<AccessRequest, AccessResponse>(service, "RevokeAccess")
    public static let listGrants = RPCMethod<KeyRequest, AccessResponse>(service, "ListGrants")
    public static let accountMoved = RPCMethod<VaultIdentityTenant, EmptyMessage>(service, "AccountMoved")
    public static let wrap = RPCMethod<WrapRequest, WrapResponse>(service, "Wrap")
    public static let generateWrappedKey = RPCMethod<GenerateWrappedKeyRequest, WrapResponse>(service, "GenerateWrappedKey")
    public static let unwrap = RPCMethod<UnwrapRequest, UnwrapResponse>(service, "Unwrap")
    public static let rewrap = RPCMethod<RewrapRequest, WrapResponse>(service, "Rewrap")
    public static let keyStatus = RPCMethod<KeyStatusRequest, KeyStatus>(service, "KeyStatus")
    public static let registerReference = RPCMethod<ReferenceRequest, ReferenceResponse>(service, "RegisterReference")
    public static let unregisterReference = RPCMethod<ReferenceRequest, ReferenceResponse>(service, "UnregisterReference")
    public static let getAuditLog = RPCMethod<GetAuditLogRequest, GetAuditLogResponse>(service, "GetAuditLog")
    public static let verifyAuditLog = RPCMethod<EmptyMessage, VerifyAuditLogResponse>(service, "VerifyAuditLog")
    /// An account's key life-cycle event outside the vault, recorded in the audit log (its managed identity).
    public static let recordAccountEvent = RPCMethod<RecordAccountEventRequest, EmptyMessage>(service, "RecordAccountEvent")

    public static let all: [RPCMethodInfo] = [
        createKey.info, importKey.info, getImportKey.info, getKey.info, listKeys.info, rotateKey.info, enableKey.info,
        disableKey.info, deleteKey.info, recoverKey.info, purgeKey.info, grantAccess.info, revokeAccess.info, listGrants.info,
        accountMoved.info, wrap.info, generateWrappedKey.info, unwrap.info, rewrap.info, keyStatus.info,
        registerReference.info, unregisterReference.info, getAuditLog.info, verifyAuditLog.info, recordAccountEvent.info,
    ]
}
