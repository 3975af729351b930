import ArgumentParser
import Logging
import AtRestClient
import AtRestMessaging
import AtRestServiceKit
import AtRestWire

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Service endpoint (default: the profile's, saved by `atrest login`).")
    var endpoint: String?

    @Option(help: "Configuration profile (default: $ATREST_PROFILE, else the current one: `atrest config use`).")
    var profile: String?

    @Flag(help: "Machine-readable JSON output.")
    var json = false

    @Option(help: "Seconds to wait for each call's answer, retries included (longer than a storage timeout, so a retry fits).")
    var timeout: Double = 30

    @Option(help: "CURVE public key (Z85) of the server; enables CURVE (needs --curve-key-file or the config's).")
    var curveServerKey: String?

    @Option(help: "This client's CURVE key-pair file (public=/secret= lines, mode 0600).")
    var curveKeyFile: String?

    /// Where the front door listens in `scripts/run.sh` and the docs' examples.
    static let defaultEndpoint = DefaultEndpoints.frontDoor

    /// The selected profile of the configuration file.
    func loadConfig() throws -> CLIConfig { try CLIConfig.load(profile: profile) }

    /// --endpoint, else the profile's. With neither the CLI fails at once
    /// (no waiting on an endpoint nobody configured), saying how to log in.
    func resolvedEndpoint(_ config: CLIConfig) throws -> String {
        if let endpoint = endpoint ?? config.endpoint { return endpoint }
        throw CLIFailure(
            message: "no endpoint: profile '\(config.profile)' of \(CLIConfig.path) has none and no --endpoint was given",
            exitCode: ExitCodes.denied,
            hint: "log in once with `atrest login --endpoint tcp://HOST:7400 --curve-server-key=KEY --curve-key-file FILE --user NAME [--tenant TENANT]`; later commands use the saved settings")
    }

    /// A client for the resolved endpoint carrying the saved token.
    func client(_ config: CLIConfig, withToken: Bool = true) throws -> ServiceClient {
        guard timeout > 0, timeout <= 3600 else { throw CLIFailure(message: "--timeout must be 0-3600 s", exitCode: ExitCodes.usage) }
        let endpoint = try resolvedEndpoint(config)
        var curve: CurveClientConfiguration?
        if let serverKey = curveServerKey ?? config.curveServerKey {
            guard let keyFile = curveKeyFile ?? config.curveKeyFile else {
                throw CLIFailure(message: "CURVE needs this client's key-pair file: --curve-key-file", exitCode: ExitCodes.usage)
            }
            curve = CurveClientConfiguration(serverPublicKey: serverKey, keyPair: try CurveKeyFile.readKeyPair(keyFile))
        }
        let wait = Duration.milliseconds(Int64(timeout * 1000))
        // The CLI reports a failed call once, as its error; the client's own warnings
        // (a refused handshake) would repeat it, and break `--json` errors on stderr.
        var logger = Logger(label: "atrest.rpc.client")
        logger.logLevel = .error
        let configuration = RPCClientConfiguration(defaultTimeout: wait, curve: curve, logger: logger)
        return ServiceClient(rpc: try RPCClient(endpoint: endpoint, configuration: configuration), token: withToken ? config.token : nil,
                             timeout: wait)
    }

    var output: Output { Output(json: json) }
}
