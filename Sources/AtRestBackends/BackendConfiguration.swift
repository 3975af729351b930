import AtRestRados
import AtRestStorage

/// Which backend a service stores objects in, and how to reach it: a plain
/// value (flags fill it), separate from the live connection `open()` makes.
public struct BackendConfiguration: Sendable, Equatable {
    public var kind: BackendKind
    /// `local`: the data directory.
    public var directory: String
    /// `rados`: the ceph.conf naming the monitors.
    public var cephConf: String
    /// `rados`: the cephx user (needs mon 'allow r', osd 'allow rw pool=<pool>').
    public var cephUser: String
    /// `rados`: the user's keyring; nil uses the conf file's `keyring`.
    public var keyringFile: String?
    /// `rados`: the pool objects live in.
    public var pool: String
    /// `rados`: bound on connecting and on every monitor and OSD operation.
    public var timeout: Duration

    public init(kind: BackendKind = .local, directory: String = "", cephConf: String = "/etc/ceph/ceph.conf",
                cephUser: String = "client.atrest", keyringFile: String? = nil, pool: String = "atrest", timeout: Duration = .seconds(10)) {
        self.kind = kind
        self.directory = directory
        self.cephConf = cephConf
        self.cephUser = cephUser
        self.keyringFile = keyringFile
        self.pool = pool
        self.timeout = timeout
    }

    /// The backend, opened: `LocalBackend` on the directory, or a
    /// `RadosBackend` connected to the cluster (errors name the monitors,
    /// the pool or the user; never key material).
    public func open() async throws -> any StorageBackend {
        switch kind {
        case .local:
            guard !directory.isEmpty else { throw StorageError(.invalidArgument, "the local backend needs a data directory") }
            let directory = self.directory
            return try await BlockingIO.run { try LocalBackend(directory: directory) }
        case .rados:
            guard !pool.isEmpty else { throw StorageError(.invalidArgument, "the rados backend needs a pool (--pool)") }
            let configuration = RadosConfiguration(confFile: cephConf, user: cephUser, keyringFile: keyringFile, timeout: timeout)
            return try await RadosBackend.connect(configuration, pool: pool)
        }
    }
}
