/// How a `LocalCluster` lays its processes out. The defaults give the
/// smallest real cluster: everything on 127.0.0.1, no workers yet, services
/// from `ServiceProcess.binDirectory`, a fresh temp directory as data root.
public struct LocalClusterOptions: Sendable {
    /// The processes a cluster starts; keys of `extraArguments`.
    public enum Service: Hashable, Sendable { case identity, vault, frontDoor, worker }

    /// Data root (every service's directory is under it); nil: a fresh temp dir.
    public var root: String?
    /// Tag in the temp dir's name when `root` is nil (e.g. `atrest-blob-1a2b3c4d`).
    public var rootTag: String
    /// Host the identity, the vault and the front door's worker side bind on
    /// (loopback, another loopback address or a veth address). Clients reach
    /// the front door on `frontDoorHost`.
    public var serviceHost: String
    /// Directory of the service executables; nil: `ServiceProcess.binDirectory`.
    public var binDirectory: String?
    /// Workers started by `init`, named `workerPrefix` + index.
    public var workers: Int
    public var workerPrefix: String
    /// `--credit` of each worker; nil: the worker's own default.
    public var workerCredit: Int?
    /// Host of each worker's `--status-endpoint`; nil: no status endpoint.
    public var workerStatusHost: String?
    /// Flags appended to a service's command line (e.g. CURVE key files).
    public var extraArguments: [Service: [String]]
    /// Each process's stderr goes to `<dir>/<executable>[-<worker name>].log` (logs, traces on "-"); nil: inherited.
    public var stderrDirectory: String?
    /// Where the workers keep objects and the front doors the account registry.
    public var storage: Storage = .local
    /// CURVE on every link (`ClusterCurve`: key files generated under `root/curve`,
    /// passed to every service; `LocalCluster.client` and `status` use them).
    public var curve = false
    /// Prepended to a service's command line (e.g. ["/usr/sbin/ip", "netns",
    /// "exec", ns] to run it on another "host"); workers take theirs in `addWorker`.
    public var launchers: [Service: [String]] = [:]
    /// Host the front door's client endpoint binds (clients reach it there).
    public var frontDoorHost = "127.0.0.1"
    /// Host the front door's worker endpoint binds; nil: `serviceHost`.
    public var frontDoorWorkersHost: String?

    /// The storage of a cluster.
    public enum Storage: Sendable, Equatable {
        /// `root/objects`, shared by the workers; each front door's registry under its data directory.
        case local
        /// A Ceph cluster (e.g. `CephDevCluster`): its conf, cephx user and
        /// keyring, and pools (the first the default, each a redundancy).
        case rados(conf: String, user: String, keyring: String, pools: [String])

        /// The `StorageOptions` flags of a worker or front door.
        public func arguments(objectsDirectory: String) -> [String] {
            switch self {
            case .local:
                return ["--backend", "local", "--data-dir", objectsDirectory]
            case .rados(let conf, let user, let keyring, let pools):
                return ["--backend", "rados", "--ceph-conf", conf, "--ceph-user", user, "--ceph-keyring", keyring]
                    + pools.flatMap { ["--pool", $0] }
            }
        }
    }

    public init(root: String? = nil, rootTag: String = "cluster", serviceHost: String = "127.0.0.1",
                binDirectory: String? = nil, workers: Int = 0, workerPrefix: String = "w", workerCredit: Int? = nil,
                workerStatusHost: String? = nil, extraArguments: [Service: [String]] = [:]) {
        self.root = root
        self.rootTag = rootTag
        self.serviceHost = serviceHost
        self.binDirectory = binDirectory
        self.workers = workers
        self.workerPrefix = workerPrefix
        self.workerCredit = workerCredit
        self.workerStatusHost = workerStatusHost
        self.extraArguments = extraArguments
    }
}
