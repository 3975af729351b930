import ArgumentParser
import AtRestClient
import AtRestNBD
import AtRestNBDGateway
import AtRestRuntime
import AtRestSockets
import Logging

extension DiskCommands {
    /// `atrest disk serve ACCOUNT/DISK`: the NBD gateway of `atrest-nbd`
    /// (AtRestNBDGateway) for one disk, with the saved login's token. The
    /// token is not renewed: for a long-running gateway use `atrest-nbd`,
    /// which logs in itself (docs/OPERATIONS.md "NBD gateway").
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a disk over NBD until Ctrl-C (export name ACCOUNT/DISK; loopback, no TLS: see atrest-nbd).")
        @Argument(help: "ACCOUNT/DISK.") var disk: String
        @Option(help: "HOST:PORT to serve NBD on.") var listen = "127.0.0.1:10809"
        @Flag(help: "Refuse writes, trims and write-zeroes (EPERM).") var readOnly = false
        @OptionGroup var account: AccountOption
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let target = try DiskTarget(disk, account)
            let (host, port) = try ListenAddress.parse(listen)
            let client = try global.client(try CLIConfig.load())
            let session = GatewaySession(client: client)
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
