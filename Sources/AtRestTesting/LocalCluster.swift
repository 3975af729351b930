import AtRestMessaging
import AtRestWire
import Foundation

/// A real AtRest cluster on this host: identity, key vault, front door and
/// crypto workers, each a `ServiceProcess` with its own data directory under
/// `root` (the workers share `root/objects`, as workers on several hosts
/// share a filesystem). The identity creates the service principals and
/// their credential files; every other service logs in with its own file.
/// The vault binds fixed ports once known, so `restartVault` brings it back
/// on the same endpoints. Used by the integration tests and `atrest-bench`,
/// so both start services with the same flags.
public final class LocalCluster: @unchecked Sendable {
    public typealias Options = LocalClusterOptions

    public let options: Options
    public let root: String
    public let identity: ServiceProcess
    public private(set) var vault: ServiceProcess
    public let frontDoor: ServiceProcess
    /// Front doors started by `addFrontDoor` (sharing the first one's registry).
    public internal(set) var extraFrontDoors: [ServiceProcess] = []
    /// Running and stopped workers by name; `workerNames` keeps start order.
    public private(set) var workers: [String: ServiceProcess] = [:]
    public private(set) var workerNames: [String] = []
    /// The worker processes in start order.
    public var workerProcesses: [ServiceProcess] { workerNames.compactMap { workers[$0] } }
    /// Connected to the front door's client endpoint.
    public let client: RPCClient
    public let vaultEndpoint: String
    public let vaultEvents: String
    /// Where workers connect to the front door.
    public var workersEndpoint: String { frontDoor.fields["workers"] ?? "" }
    public var objectsDirectory: String { "\(root)/objects" }
    /// The cluster's CURVE keys when `options.curve` is on.
    public let curve: ClusterCurve?
    /// Removes a temporary `root` if the test process dies before `stop`
    /// (or `init` fails); the processes go with `ServiceProcess`.
    private let cleanup: ExitCleanup?

    public init(_ options: Options = Options()) throws {
        self.options = options
        root = options.root ?? Self.temporaryDirectory(options.rootTag)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        cleanup = options.root == nil ? try ExitCleanup([["rm", "-rf", root]]) : nil
        let host = options.serviceHost
        let r = root
        let curve = options.curve ? try ClusterCurve.generate(in: "\(r)/curve") : nil
        self.curve = curve
        identity = try Self.launch(options, curve, .identity, "atrest-identity", Self.identityArguments(root: r, host: host))
        vault = try Self.launch(options, curve, .vault, "atrest-keyvault", Self.vaultArguments(root: r, identity: identity.endpoint, host: host))
        vaultEndpoint = vault.endpoint
        vaultEvents = vault.fields["events"] ?? ""
        frontDoor = try Self.launch(options, curve, .frontDoor, "atrest-frontdoor", Self.frontDoorArguments(
            root: r, host: options.frontDoorWorkersHost ?? host, identity: identity.endpoint, vault: vaultEndpoint, events: vaultEvents,
            dataDirectory: "\(r)/frontdoor", clientHost: options.frontDoorHost)
            + Self.frontDoorStorageArguments(options.storage))
        client = try RPCClient(endpoint: frontDoor.endpoint,
                               configuration: RPCClientConfiguration(curve: curve.map { $0.client(serverKey: $0.frontDoorKey) }))
        for index in 0..<options.workers { try addWorker("\(options.workerPrefix)\(index)") }
    }

    /// Starts a worker. `launcher` is prepended (e.g. ["/usr/sbin/ip", "netns",
    /// "exec", ns]); `credit` and `statusHost` default to the options';
    /// `frontDoor`: the worker endpoint it serves (default: the first front door's).
    @discardableResult
    public func addWorker(_ name: String, launcher: [String] = [], statusHost: String? = nil, credit: Int? = nil,
                          frontDoor: String? = nil) throws -> ServiceProcess {
        var arguments = [
            "--frontdoor", frontDoor ?? workersEndpoint, "--identity", identity.endpoint, "--vault", vaultEndpoint,
            "--vault-events", vaultEvents,
        ] + options.storage.arguments(objectsDirectory: objectsDirectory) + [
            "--credentials-file", Self.credentialsFile(root: root, "worker"), "--name", name,
        ]
        if let credit = credit ?? options.workerCredit { arguments += ["--credit", "\(credit)"] }
        if let host = statusHost ?? options.workerStatusHost { arguments += ["--status-endpoint", "tcp://\(host):*"] }
        arguments += ["--log-level", "warning"] + (curve?.arguments(.worker) ?? []) + (options.extraArguments[.worker] ?? [])
        let binary = (options.binDirectory ?? ServiceProcess.binDirectory.path) + "/atrest-worker"
        let log = options.stderrDirectory.map { "\($0)/atrest-worker-\(name).log" }
        let worker = launcher.isEmpty ? try ServiceProcess(binary, arguments, standardError: log)
            : try ServiceProcess(launcher[0], Array(launcher.dropFirst()) + [binary] + arguments, standardError: log)
        if workers[name] == nil { workerNames.append(name) }
        workers[name] = worker
        return worker
    }

    /// SIGKILLs worker `name` (a crash: in-flight calls are lost).
    public func killWorker(_ name: String) { workers[name]?.kill() }

    /// SIGTERMs worker `name` so it drains; its exit status, nil if it had to be killed.
    @discardableResult
    public func drainWorker(_ name: String) -> Int32? { workers[name]?.terminate() }

    /// SIGKILL the vault and start it again on the same endpoints and state.
    public func restartVault(after pause: Duration = .zero) throws {
        vault.kill()
        if pause > .zero {
            Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
        }
        vault = try Self.launch(options, curve, .vault, "atrest-keyvault",
                                Self.vaultArguments(root: root, identity: identity.endpoint, endpoint: vaultEndpoint, events: vaultEvents))
    }

    /// Terminates every process (workers first) and removes `root`.
    public func stop() {
        stopProcesses()
        try? FileManager.default.removeItem(atPath: root)
        cleanup?.dismiss()
    }

    /// Terminates every process (workers first) and keeps `root`, e.g. to
    /// read the data offline; `stop()` still removes it.
    public func stopProcesses() {
        client.close()
        for name in workerNames { _ = workers[name]?.terminate() }
        for extra in extraFrontDoors { _ = extra.terminate() }
        _ = frontDoor.terminate()
        _ = vault.terminate()
        _ = identity.terminate()
    }

    /// The secret in the credential file the identity wrote for `name` (admin, frontdoor, …).
    public func secret(_ name: String) throws -> String { try Self.secret(root: root, name) }

    /// Every regular file under the data root.
    public func allFiles() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDir), !isDir.boolValue {
                files.append("\(root)/\(path)")
            }
        }
        return files
    }

    /// A fresh directory `atrest-<tag>-<random>` under `parent`.
    public static func temporaryDirectory(under parent: String = NSTemporaryDirectory(), _ tag: String) -> String {
        let path = (parent.hasSuffix("/") ? parent : parent + "/") + "atrest-\(tag)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // The command lines below are public so fixtures that start only some
    // services (identity + vault) use the same flags and file layout.

    /// Where the identity under `root` writes `name`'s credential file.
    public static func credentialsFile(root: String, _ name: String) -> String { "\(root)/identity/credentials/\(name).secret" }

    /// The secret in `name`'s credential file under `root`.
    public static func secret(root: String, _ name: String) throws -> String {
        try String(contentsOfFile: credentialsFile(root: root, name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Identity on `host` (any port), creating the service principals frontdoor, worker and keyvault.
    public static func identityArguments(root: String, host: String = "127.0.0.1") -> [String] {
        ["--endpoint", "tcp://\(host):*", "--data-dir", "\(root)/identity", "--service-principal", "frontdoor",
         "--service-principal", "worker", "--service-principal", "keyvault", "--log-level", "warning"]
    }

    /// Vault on `endpoint`/`events` (default: any port on `host`), logging in as `keyvault`.
    public static func vaultArguments(root: String, identity: String, host: String = "127.0.0.1",
                                      endpoint: String? = nil, events: String? = nil) -> [String] {
        ["--endpoint", endpoint ?? "tcp://\(host):*", "--events-endpoint", events ?? "tcp://\(host):*", "--data-dir", "\(root)/vault",
         "--identity-endpoint", identity, "--credentials-file", credentialsFile(root: root, "keyvault"), "--log-level", "warning"]
    }

    /// A front door on any port of `clientHost` (workers: any port on `host`)
    /// with its data in `dataDirectory`, logging in as `frontdoor`.
    /// A front door's storage flags: none for `local` (its registry is under
    /// its data directory), the Ceph flags for `rados` (registry in the first pool).
    public static func frontDoorStorageArguments(_ storage: Options.Storage) -> [String] {
        storage == .local ? [] : storage.arguments(objectsDirectory: "")
    }

    public static func frontDoorArguments(root: String, host: String, identity: String, vault: String, events: String,
                                          dataDirectory: String, clientHost: String = "127.0.0.1") -> [String] {
        ["--endpoint", "tcp://\(clientHost):*", "--workers", "tcp://\(host):*", "--identity", identity,
         "--vault", vault, "--vault-events", events, "--data-dir", dataDirectory,
         "--credentials-file", credentialsFile(root: root, "frontdoor"), "--log-level", "warning"]
    }

    /// Starts `service` with its CURVE flags (when `curve`) and extra arguments, through its launcher if any.
    static func launch(_ options: Options, _ curve: ClusterCurve?, _ service: Options.Service, _ name: String,
                       _ arguments: [String]) throws -> ServiceProcess {
        let all = arguments + (curve?.arguments(service) ?? []) + (options.extraArguments[service] ?? [])
        let binary = (options.binDirectory ?? ServiceProcess.binDirectory.path) + "/" + name
        let log = options.stderrDirectory.map { "\($0)/\(name).log" }
        guard let launcher = options.launchers[service], !launcher.isEmpty else { return try ServiceProcess(binary, all, standardError: log) }
        return try ServiceProcess(launcher[0], Array(launcher.dropFirst()) + [binary] + all, standardError: log)
    }
}
