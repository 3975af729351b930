import ArgumentParser
import AtRestClient
import AtRestMessaging
import AtRestServiceKit
import AtRestWire

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Service endpoint (default: the config file's, else tcp://127.0.0.1:7400, the front door).")
    var endpoint: String?

    @Flag(help: "Machine-readable JSON output.")
    var json = false

    @Option(help: "Seconds to wait for each call's answer, retries included (longer than a storage timeout, so a retry fits).")
    var timeout: Double = 30

    @Option(help: "CURVE public key (Z85) of the server; enables CURVE (needs --curve-key-file or the config's).")
    var curveServerKey: String?

    @Option(help: "This client's CURVE key-pair file (public=/secret= lines, mode 0600).")
    var curveKeyFile: String?

    static let defaultEndpoint = DefaultEndpoints.frontDoor

    func resolvedEndpoint(_ config: CLIConfig) -> String { endpoint ?? config.endpoint ?? Self.defaultEndpoint }

    /// A client for the resolved endpoint carrying the saved token.
    func client(_ config: CLIConfig, withToken: Bool = true) throws -> ServiceClient {
        guard timeout > 0, timeout <= 3600 else { throw CLIFailure(message: "--timeout must be 0-3600 s", exitCode: ExitCodes.usage) }
        var curve: CurveClientConfiguration?
        if let serverKey = curveServerKey ?? config.curveServerKey {
            guard let keyFile = curveKeyFile ?? config.curveKeyFile else {
                throw CLIFailure(message: "CURVE needs this client's key-pair file: --curve-key-file", exitCode: ExitCodes.usage)
            }
            curve = CurveClientConfiguration(serverPublicKey: serverKey, keyPair: try CurveKeyFile.readKeyPair(keyFile))
        }
        return try ServiceClient(endpoint: resolvedEndpoint(config), token: withToken ? config.token : nil,
                                 timeout: .milliseconds(Int64(timeout * 1000)), curve: curve)
    }

    var output: Output { Output(json: json) }
}
