import AtRestMessaging
import AtRestServiceKit
import Foundation

/// CURVE on every link of a `LocalCluster` (`LocalClusterOptions.curve`),
/// laid out as scripts/run.sh lays it out: a key-pair file (0600) per server
/// (identity, vault, front door) and per client role (the vault and the front
/// door as clients, the workers, the test's own clients), allow files of
/// client public keys per server socket, and each client given its servers'
/// public keys. The files live in `root/curve` (0700); secrets never leave them.
public struct ClusterCurve: Sendable {
    public let directory: String
    public let identityKey: String
    public let vaultKey: String
    public let frontDoorKey: String
    /// The key pair of the cluster's own clients (`LocalCluster.client`,
    /// `status`): allowed by the front door, the identity and the vault.
    public let client: CurveKeyPair

    /// Generates every key pair and allow file under `directory`.
    static func generate(in directory: String) throws -> ClusterCurve {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        func pair(_ name: String) throws -> CurveKeyPair {
            let keyPair = try CurveKeyPair.generate()
            try CurveKeyFile.writeKeyPair(keyPair, to: "\(directory)/\(name).key")
            return keyPair
        }
        func allow(_ name: String, _ keys: [CurveKeyPair]) throws {
            let text = keys.map { $0.publicKey + "\n" }.joined()
            guard FileManager.default.createFile(atPath: "\(directory)/\(name).allow", contents: Data(text.utf8)) else {
                throw CocoaError(.fileWriteUnknown)
            }
        }
        let identity = try pair("identity"), vault = try pair("vault"), frontDoor = try pair("frontdoor")
        let vaultClient = try pair("vault-client"), frontDoorClient = try pair("frontdoor-client")
        let worker = try pair("worker"), client = try pair("client")
        try allow("identity", [vaultClient, frontDoorClient, worker, client])
        try allow("vault", [frontDoorClient, worker, client])
        try allow("frontdoor-clients", [client])
        try allow("frontdoor-workers", [worker])
        return ClusterCurve(directory: directory, identityKey: identity.publicKey, vaultKey: vault.publicKey,
                            frontDoorKey: frontDoor.publicKey, client: client)
    }

    /// The CURVE flags of `service` (public keys with `=`: Z85 may begin with `-`).
    public func arguments(_ service: LocalClusterOptions.Service) -> [String] {
        let d = directory
        switch service {
        case .identity:
            return ["--curve-secret-key-file", "\(d)/identity.key", "--curve-allow-file", "\(d)/identity.allow"]
        case .vault:
            return ["--curve-secret-key-file", "\(d)/vault.key", "--curve-allow-file", "\(d)/vault.allow",
                    "--curve-key-file", "\(d)/vault-client.key", "--identity-server-key=\(identityKey)"]
        case .frontDoor:
            return ["--curve-secret-key-file", "\(d)/frontdoor.key", "--curve-allow-file", "\(d)/frontdoor-clients.allow",
                    "--workers-curve-allow-file", "\(d)/frontdoor-workers.allow", "--curve-key-file", "\(d)/frontdoor-client.key",
                    "--identity-server-key=\(identityKey)", "--vault-server-key=\(vaultKey)"]
        case .worker:
            return ["--curve-key-file", "\(d)/worker.key", "--frontdoor-server-key=\(frontDoorKey)",
                    "--identity-server-key=\(identityKey)", "--vault-server-key=\(vaultKey)"]
        }
    }

    /// The client side of a connection to a server with public key `serverKey`, as the cluster's client.
    public func client(serverKey: String) -> CurveClientConfiguration {
        CurveClientConfiguration(serverPublicKey: serverKey, keyPair: client)
    }
}
