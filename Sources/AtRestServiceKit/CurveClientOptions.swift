import ArgumentParser
import AtRestMessaging

/// The CURVE flag of a service's outgoing connections: its own key pair.
/// Each upstream's public key is a separate flag of the executable
/// (`--identity-server-key`, ...); a connection uses CURVE when its server
/// key is given, and then this key pair is required.
public struct CurveClientOptions: ParsableArguments {
    @Option(help: "This process's CURVE key-pair file for outgoing connections (public=/secret= lines, mode 0600).")
    public var curveKeyFile: String?

    public init() {}

    /// The client configuration for a server with public key `serverKey`; nil (plain TCP) when `serverKey` is nil.
    public func client(serverKey: String?, flag: String) throws -> CurveClientConfiguration? {
        guard let serverKey, !serverKey.isEmpty else { return nil }
        guard let curveKeyFile else { throw ValidationError("\(flag) needs --curve-key-file (this process's key pair)") }
        return CurveClientConfiguration(serverPublicKey: serverKey, keyPair: try CurveKeyFile.readKeyPair(curveKeyFile))
    }
}
