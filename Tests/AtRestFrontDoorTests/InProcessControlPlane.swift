import AtRestClient
import AtRestCrypto
import AtRestIdentity
import AtRestKeyVault
import AtRestLocalState
import AtRestMessaging
import AtRestWire
import Foundation
import Logging
import Testing
@testable import AtRestFrontDoor
import AtRestTokens

/// The identity service and the key vault in this process, each an
/// `RPCServer` on `inproc://` around its real router (the vault with the real
/// managed/customer/revoked-test plug-ins, tokens verified against the
/// identity service's published keys), and an `AccountManager` wired to them
/// as the front door wires it (`ServiceTokens` of the `frontdoor` principal).
final class InProcessControlPlane: Sendable {
    let directory = TemporaryDirectory("control-plane")
    let identityServer: RPCServer
    let vaultServer: RPCServer
    let vault: KeyVault
    let registry: AccountRegistry
    let manager: AccountManager
    /// The system tenant's administrator, made key administrator.
    let adminVault: VaultClient
    let adminIdentity: IdentityClient
    private let clients: [RPCClient]

    init() async throws {
        let root = directory.path
        var identityConfig = IdentityConfiguration(dataDirectory: root + "/identity")
        identityConfig.passwordIterations = 1000
        identityConfig.rootKeyEnvironmentVariable = nil
        identityConfig.servicePrincipals = ["frontdoor", "keyvault"].map { ServicePrincipalSpec(name: $0) }
        let identityService = try await IdentityService(config: identityConfig)
        identityServer = try RPCServer(service: identityService.router, endpoint: Self.inproc("identity"))
        func secret(_ name: String) throws -> String {
            let bytes = try LocalFile.read("\(root)/identity/credentials/\(name).secret") ?? []
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        let identityRPC = try RPCClient(endpoint: identityServer.endpoint)
        let publicIdentity = IdentityClient(ServiceClient(rpc: identityRPC, timeout: .seconds(10)))
        let verifier = try TokenVerifier(configuration: .init(issuer: "atrest-identity", audience: "atrest"),
                                         keys: try await publicIdentity.keys().keys, refresh: { try await publicIdentity.keys() })
        var vaultConfig = KeyVaultConfiguration(dataDirectory: root + "/vault", providers: [.managed(), .customer(), .revokedTest()],
                                         rootKeyHex: String(repeating: "5a", count: 32))
        vaultConfig.adminRole = "keyAdministrator"
        vaultConfig.auditorRole = "keyAdministrator"
        vault = try KeyVault(config: vaultConfig, events: NoKeyEvents())
        let vaultTokens = ServiceTokens(identity: identityRPC, credentials: .init(clientID: "keyvault", secret: try secret("keyvault")))
        let service = KeyVaultService(
            vault: vault,
            authenticate: { header in
                guard let token = header.bearerToken, !token.isEmpty else { throw RPCStatus(.unauthenticated, "no token") }
                let claims = try await verifier.verify(token)
                return VaultCaller(principalID: claims.subject, tenantID: claims.tenant, roles: Set(claims.roles),
                                   accountID: claims.accountID ?? "")
            },
            resolveAccount: { account in
                let client = IdentityClient(ServiceClient(rpc: identityRPC, token: try await vaultTokens.serviceToken().token,
                                                          timeout: .seconds(10)))
                let found = try await client.accountIdentity(account: account)
                return (found.principalID, found.tenant)
            })
        vaultServer = try RPCServer(service: service.router, endpoint: Self.inproc("vault"))

        let vaultRPC = try RPCClient(endpoint: vaultServer.endpoint)
        registry = try await AccountRegistry.forTest(root + "/frontdoor")
        manager = AccountManager(
            registry: registry, identity: identityRPC, vault: vaultRPC,
            tokens: ServiceTokens(identity: identityRPC, credentials: .init(clientID: "frontdoor", secret: try secret("frontdoor"))),
            logger: Logger(label: "test.accounts"))

        // The system administrator, as key administrator (the role is in the next token).
        let adminRPC = try RPCClient(endpoint: identityServer.endpoint)
        let admin = ServiceClient(rpc: adminRPC, timeout: .seconds(10))
        let adminSecret = try secret("admin")
        admin.bearerToken = try await IdentityClient(admin).login(clientID: "admin", secret: adminSecret).token
        _ = try await IdentityClient(admin).grantRole(IdentityRoleRequest(tenant: "system", name: "admin", role: "keyAdministrator"))
        admin.bearerToken = try await IdentityClient(admin).login(clientID: "admin", secret: adminSecret).token
        adminIdentity = IdentityClient(admin)
        let adminVaultRPC = try RPCClient(endpoint: vaultServer.endpoint)
        adminVault = VaultClient(ServiceClient(rpc: adminVaultRPC, token: admin.bearerToken, timeout: .seconds(10)))
        clients = [identityRPC, vaultRPC, adminRPC, adminVaultRPC]
    }

    deinit {
        for client in clients { client.close() }
        vaultServer.close()
        identityServer.close()
        try? vault.close()
    }

    static func inproc(_ name: String) -> String { "inproc://atrest-\(name)-\(UUID().uuidString)" }

    /// Claims of a user of `tenant`, as the front door would have verified them.
    static func owner(_ subject: String = "usr_alice", tenant: String) -> TokenClaims {
        TokenClaims(issuer: "atrest-identity", subject: subject, tenant: tenant, audience: "atrest", roles: [], issuedAt: 0,
                    expiresAt: Int64.max, tokenID: "t", kind: "user", name: "alice")
    }

    /// The account key in clear, unwrapped by the vault as the account's managed identity (what a worker does).
    func unwrapAccountKey(_ account: String) async throws -> UnwrapResponse {
        let record = try #require(registry.record(account))
        return try await manager.identityVaultClient(account: account).unwrap(record.wrappedKey, context: Self.wrapContext(account))
    }

    /// Pinned here on purpose: the context is bound into every stored wrapped account key.
    static func wrapContext(_ account: String) -> [UInt8] { Array("atrest/v1/account:\(account)".utf8) }
}
