import ArgumentParser
import AtRestMessaging

/// The CURVE flags every AtRest server takes. Without `--curve-secret-key-file`
/// the endpoint is plain TCP (loopback development); with it, only the keys
/// in `--curve-allow-file` get in (fails closed: an empty list admits no one).
public struct CurveServerOptions: ParsableArguments {
    @Option(help: "CURVE key-pair file of this server (public=/secret= lines, mode 0600); enables CURVE.")
    public var curveSecretKeyFile: String?

    @Option(help: "File of allowed client public keys (Z85, one per line); required with --curve-secret-key-file.")
    public var curveAllowFile: String?

    public init() {}

    public func configuration() throws -> CurveServerConfiguration? {
        guard let curveSecretKeyFile else {
            if curveAllowFile != nil { throw ValidationError("--curve-allow-file needs --curve-secret-key-file") }
            return nil
        }
        guard let curveAllowFile else {
            throw ValidationError("--curve-secret-key-file needs --curve-allow-file (the clients allowed in)")
        }
        return CurveServerConfiguration(keyPair: try CurveKeyFile.readKeyPair(curveSecretKeyFile),
                                        allowedClientKeys: try CurveKeyFile.readAllowList(curveAllowFile))
    }
}
