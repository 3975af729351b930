import ArgumentParser
import AtRestClient
import AtRestTokens
import AtRestWire

/// `atrest tenant create|list`.
struct TenantCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tenant", abstract: "Manage tenants.", subcommands: [Create.self, List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List tenants (identity administrators; outside the system tenant only their own).", aliases: ["ls"])
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let tenants = try await withIdentity(global) { try await $0.listTenants() }
            global.output.table(["tenant", "displayName", "createdAt"], tenants.map { [$0.tenant, $0.displayName, isoTime(seconds: $0.createdAtUnix)] })
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant (identity administrators).")
        @Argument(help: "Tenant id.") var tenant: String
        @Option(help: "Display name.") var displayName = ""
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let created = try await withIdentity(global) { try await $0.createTenant(tenant, displayName: displayName) }
            global.output.record(["tenant": created.tenant, "displayName": created.displayName, "createdAt": isoTime(seconds: created.createdAtUnix)])
        }
    }
}

/// `atrest user create|list`.
struct UserCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users.", subcommands: [Create.self, List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List users and their roles (identity administrators; outside the system tenant only their own).",
            aliases: ["ls"])
        @Option(help: "Only this tenant (default: every tenant you may see).") var tenant = ""
        @Option(help: "Principal kind: user, service, managedIdentity, or all.") var kind = "user"
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let principals = try await withIdentity(global) { try await $0.listPrincipals(tenant: tenant, kind: kind == "all" ? "" : kind) }
            global.output.table(["principal", "name", "kind", "tenant", "roles", "createdAt"], principals.map {
                [$0.principalID, $0.name, $0.kind, $0.tenant, $0.roles, isoTime(seconds: $0.createdAtUnix)]
            })
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user; prints the generated secret once unless --secret-file is given.")
        @Argument(help: "User name.") var name: String
        @Option(help: "Tenant of the user.") var tenant: String
        @Option(help: "File holding the user's secret (at least 12 characters); else one is generated.") var secretFile: String?
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            var secret = ""
            if let secretFile {
                guard let text = try? String(contentsOfFile: secretFile, encoding: .utf8) else {
                    throw CLIFailure(message: "cannot read secret file '\(secretFile)'", exitCode: ExitCodes.usage)
                }
                secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let created = try await withIdentity(global) { try await $0.createUser(tenant: tenant, name: name, secret: secret) }
            global.output.record([
                "principal": created.principal.principalID, "name": created.principal.name, "tenant": created.principal.tenant,
                "generatedSecret": created.generatedSecret.isEmpty ? nil : created.generatedSecret as Any,
            ])
        }
    }
}

/// `atrest role grant|revoke|list`.
struct RoleCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "role", abstract: "Grant, revoke or list roles.", subcommands: [Grant.self, Revoke.self, List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List role assignments, one row per principal and role (identity administrators; outside the system tenant only their own).",
            aliases: ["ls"])
        @Option(help: "Only this tenant (default: every tenant you may see).") var tenant = ""
        @Option(help: "Only this principal (name or id).") var principal = ""
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let principals = try await withIdentity(global) { try await $0.listPrincipals(tenant: tenant) }
                .filter { principal.isEmpty || $0.principalID == principal || $0.name == principal }
            global.output.table(["role", "principal", "name", "kind", "tenant"], principals.flatMap { p in
                p.roles.sorted().map { [$0, p.principalID, p.name, p.kind, p.tenant] }
            })
        }
    }

    struct Target: ParsableArguments {
        @Argument(help: "Role: \(Role.syntax).") var role: String
        @Option(help: "Principal id.") var principalID = ""
        @Option(help: "Tenant of --name.") var tenant = ""
        @Option(help: "Principal name (with --tenant).") var name = ""

        var request: IdentityRoleRequest { IdentityRoleRequest(principalID: principalID, tenant: tenant, name: name, role: role) }

        func validate() throws {
            if principalID.isEmpty && name.isEmpty { throw ValidationError("name the principal: --principal-id, or --tenant and --name") }
        }

        func apply(grant: Bool, _ global: GlobalOptions) async throws {
            let request = self.request
            let principal = try await withIdentity(global) { grant ? try await $0.grantRole(request) : try await $0.revokeRole(request) }
            printPrincipal(principal, global.output)
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant a role to a principal.")
        @OptionGroup var target: Target
        @OptionGroup var global: GlobalOptions
        func run() async throws { try await target.apply(grant: true, global) }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a role from a principal.")
        @OptionGroup var target: Target
        @OptionGroup var global: GlobalOptions
        func run() async throws { try await target.apply(grant: false, global) }
    }
}

func printPrincipal(_ principal: IdentityPrincipal, _ output: Output) {
    output.record(["principal": principal.principalID, "name": principal.name, "kind": principal.kind,
                   "tenant": principal.tenant, "roles": principal.roles])
}

/// Runs `body` with an identity client on the configured endpoint and token.
func withIdentity<R>(_ global: GlobalOptions, _ body: (IdentityClient) async throws -> R) async throws -> R {
    let client = try global.client(try global.loadConfig())
    defer { client.close() }
    return try await body(IdentityClient(client))
}

/// Runs `body` with a vault client on the configured endpoint and token.
func withVault<R>(_ global: GlobalOptions, _ body: (VaultClient) async throws -> R) async throws -> R {
    let client = try global.client(try global.loadConfig())
    defer { client.close() }
    return try await body(VaultClient(client))
}
