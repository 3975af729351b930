import ArgumentParser
import AtRestClient
import Foundation

/// `atrest login`: client-credential login. The token and the connection
/// settings (endpoint, CURVE server key, client key file) go into the
/// selected profile of the config file, which becomes the current one.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Log in as a user or service principal and save the token.")

    @Option(help: "Tenant (empty: the system tenant, for the bootstrap admin and services).")
    var tenant = ""

    @Option(name: [.customLong("user"), .customLong("client-id")], help: "Principal name or id.")
    var user: String

    @Option(help: "File holding the secret (e.g. <identity data>/credentials/<name>.secret); else $ATREST_SECRET, else stdin.")
    var secretFile: String?

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var config = try global.loadConfig()
        if global.endpoint != nil {
            // A login naming the endpoint sets the profile's whole connection: CURVE
            // settings saved for another endpoint do not carry over unless given again.
            config.curveServerKey = nil
            config.curveKeyFile = nil
        }
        if let serverKey = global.curveServerKey { config.curveServerKey = serverKey }
        if let keyFile = global.curveKeyFile {
            config.curveKeyFile = URL(fileURLWithPath: keyFile).standardizedFileURL.path  // later commands may run elsewhere
        }
        let secret = try readSecret()
        let client = try global.client(config, withToken: false)
        defer { client.close() }
        let token = try await IdentityClient(client).login(tenant: tenant, clientID: user, secret: secret)
        config.token = token.token
        config.tenant = token.tenant
        config.principal = token.principalID
        config.expiresAt = token.expiresAtUnix
        config.endpoint = try global.resolvedEndpoint(config)
        try config.save(makeCurrent: true)
        global.output.record([
            "principal": token.principalID, "tenant": token.tenant, "expiresAt": isoTime(seconds: token.expiresAtUnix), "config": CLIConfig.path,
            "profile": config.profile, "endpoint": config.endpoint as Any,
        ])
    }

    private func readSecret() throws -> String {
        let raw: String
        if let secretFile {
            guard let text = try? String(contentsOfFile: secretFile, encoding: .utf8) else {
                throw CLIFailure(message: "cannot read secret file '\(secretFile)'", exitCode: ExitCodes.usage)
            }
            raw = text
        } else if let env = ProcessInfo.processInfo.environment["ATREST_SECRET"] {
            raw = env
        } else {
            raw = readLine(strippingNewline: true) ?? ""
        }
        let secret = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw CLIFailure(message: "no secret given (--secret-file, $ATREST_SECRET or stdin)", exitCode: ExitCodes.usage) }
        return secret
    }
}

/// `atrest whoami`: what the saved token says, as the identity service sees it.
struct WhoAmICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show who the saved token belongs to.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.loadConfig()
        guard config.token != nil else { throw CLIFailure(message: "not logged in: run `atrest login` first", exitCode: ExitCodes.denied) }
        let client = try global.client(config)
        defer { client.close() }
        let me = try await IdentityClient(client).whoAmI()
        global.output.record([
            "principal": me.principalID, "name": me.name, "kind": me.kind, "tenant": me.tenant, "roles": me.roles,
            "account": me.accountID, "issuer": me.issuer, "expiresAt": isoTime(seconds: me.expiresAtUnix),
        ])
    }
}
