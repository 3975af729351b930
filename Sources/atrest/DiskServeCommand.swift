import ArgumentParser
import AtRestClient
import AtRestNBD
import AtRestNBDGateway
import AtRestRuntime
import AtRestSockets
import Logging

extension DiskCommands {
    /// `atrest disk serve ACCOUNT/DISK`: the NBD gateway of `atrest-nbd`
    /// (AtRestNBDGateway) for one disk. With `--user` it logs in as that
    /// principal and renews the token as `atrest-nbd` does (`GatewayLogin`,
    /// one code path); without, it serves with the saved login's token,
    /// which is not renewed: calls fail (EPERM) once it expires, and it says
    /// when at start (docs/OPERATIONS.md "NBD gateway").
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a disk over NBD until Ctrl-C (export name ACCOUNT/DISK; loopback, no TLS: see atrest-nbd).")
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @Option(help: "HOST:PORT to serve NBD on.") var listen = "127.0.0.1:10809"
        @Flag(help: "Refuse writes, trims and write-zeroes (EPERM).") var readOnly = false
        @OptionGroup var login: GatewayLoginOptions
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let target = try DiskTarget(disk, account)
            let (host, port) = try ListenAddress.parse(listen)
            let config = try global.loadConfig()
            let session = try await login.session(config, global)
            defer { session.close() }
            let export = DiskExport(account: target.account, disk: target.disk, readOnly: readOnly, session: session)
            _ = try await export.size  // the disk exists and the token may read it
            let listener = try TCPListener(host: host, port: port)
            let logger = Logger(label: "atrest.disk.serve")
            let server = NBDServer(listener: listener, exports: [export], logger: logger)
            let url = "nbd://\(ListenAddress.format(host: host, port: listener.port))/\(export.name)"
            try await ServiceMain.run([NBDGatewayService(server: server)], ready: "ready atrest-disk-serve endpoint=\(url)", logger: logger)
        }
    }
}

/// `--user`, `--tenant`, `--secret-file` of the long-running commands
/// (`disk serve`, `mount`): a principal's login renewed before it expires
/// (`GatewayLogin`, as atrest-nbd), else the saved login's token as it is.
struct GatewayLoginOptions: ParsableArguments {
    @Option(help: "Log in as this principal (name or id) and renew the token before it expires, as atrest-nbd does; without it the saved login's token serves until it expires.")
    var user: String?
    @Option(help: "Tenant of --user (empty: the system tenant).") var tenant = ""
    @Option(help: "File holding --user's secret; else $ATREST_SECRET.") var secretFile: String?

    /// `--user`'s login (renewed), else the saved token (not renewed).
    func session(_ config: CLIConfig, _ global: GlobalOptions) async throws -> GatewaySession {
        guard let user else {
            guard tenant.isEmpty, secretFile == nil else {
                throw CLIFailure(message: "--tenant and --secret-file go with --user", exitCode: ExitCodes.usage)
            }
            guard config.token != nil else {
                throw CLIFailure(message: "not logged in: run `atrest login` first, or give --user and --secret-file", exitCode: ExitCodes.denied)
            }
            if let expiresAt = config.expiresAt {
                global.output.note("serving with the saved token, which expires at \(isoTime(seconds: expiresAt)) and is not renewed; "
                                   + "give --user and --secret-file (or $ATREST_SECRET) to log in and renew it")
            }
            return GatewaySession(client: try global.client(config))
        }
        let client = try global.client(config, withToken: false)
        do {
            let session = try GatewayLogin(tenant: tenant, user: user, secretFile: secretFile).session(client: client)
            try await session.start()
            return session
        } catch let failure as NBDGatewayError {
            client.close()
            throw CLIFailure(message: failure.description, exitCode: ExitCodes.usage)
        } catch {
            client.close()
            throw error
        }
    }
}
