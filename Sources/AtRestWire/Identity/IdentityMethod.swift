/// The methods of `service Identity` (identity.proto).
public enum IdentityMethod {
    public static let service = "atrest.v1.Identity"
    public static let login = RPCMethod<IdentityLoginRequest, IdentityToken>(service, "Login")
    public static let keys = RPCMethod<EmptyMessage, IdentityKeySet>(service, "Keys")
    public static let whoAmI = RPCMethod<EmptyMessage, IdentityWhoAmI>(service, "WhoAmI")
    public static let rotateSigningKey = RPCMethod<EmptyMessage, IdentityRotation>(service, "RotateSigningKey")
    public static let createTenant = RPCMethod<IdentityCreateTenantRequest, IdentityTenant>(service, "CreateTenant")
    public static let createUser = RPCMethod<IdentityCreateUserRequest, IdentityCreatedPrincipal>(service, "CreateUser")
    public static let createServicePrincipal = RPCMethod<IdentityCreateServicePrincipalRequest, IdentityCreatedPrincipal>(
        service, "CreateServicePrincipal")
    public static let grantRole = RPCMethod<IdentityRoleRequest, IdentityPrincipal>(service, "GrantRole")
    public static let revokeRole = RPCMethod<IdentityRoleRequest, IdentityPrincipal>(service, "RevokeRole")
    public static let createManagedIdentity = RPCMethod<IdentityAccountRequest, IdentityManagedIdentity>(service, "CreateManagedIdentity")
    public static let managedIdentityToken = RPCMethod<IdentityAccountRequest, IdentityToken>(service, "ManagedIdentityToken")
    public static let accountIdentity = RPCMethod<IdentityAccountRequest, IdentityManagedIdentity>(service, "AccountIdentity")
    public static let moveAccount = RPCMethod<IdentityMoveAccountRequest, IdentityMoveAccountReply>(service, "MoveAccount")

    public static let listTenants = RPCMethod<IdentityListRequest, IdentityTenantList>(service, "ListTenants")
    public static let listPrincipals = RPCMethod<IdentityListRequest, IdentityPrincipalList>(service, "ListPrincipals")

    public static let all: [RPCMethodInfo] = [
        login.info, keys.info, whoAmI.info, rotateSigningKey.info, createTenant.info, createUser.info,
        createServicePrincipal.info, grantRole.info, revokeRole.info, createManagedIdentity.info, managedIdentityToken.info,
        accountIdentity.info, moveAccount.info, listTenants.info, listPrincipals.info,
    ]
}
