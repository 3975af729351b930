import ArgumentParser
import AtRestBackends
import AtRestStorage

/// The storage flags of the services that reach the storage (the worker for
/// objects, the front door for its account registry and the redundancies it
/// offers): the same names and meanings in both (docs/OPERATIONS.md "Ceph").
public struct StorageOptions: ParsableArguments {
    @Option(help: "Storage backend: local (a directory shared by every worker) or rados (Ceph pools).")
    public var backend = "local"
    @Option(help: "rados: the ceph.conf naming the monitors (default /etc/ceph/ceph.conf).")
    public var cephConf: String?
    @Option(help: "rados: the cephx user (default client.atrest; needs mon 'allow r' and osd 'allow rw pool=<each pool>').")
    public var cephUser: String?
    @Option(help: "rados: the user's keyring file (default: the conf file's keyring setting).")
    public var cephKeyring: String?
    @Option(help: "rados: a pool for objects; repeat to offer more redundancies (each pool's size is its copies; the first is the default; default: atrest).")
    public var pool: [String] = []
    @Option(help: "rados: seconds to wait for the monitors when connecting and for each monitor or OSD operation; a call that meets a cluster silent this long answers UNAVAILABLE (1-300; default 10).")
    public var cephTimeout: Int?

    public init() {}

    /// The checked configuration (`BackendConfiguration(backend:...)` names a wrong flag).
    public func configuration(dataDirectory: String) throws(StorageError) -> BackendConfiguration {
        try BackendConfiguration(backend: backend, dataDirectory: dataDirectory, cephConf: cephConf, cephUser: cephUser,
                                 keyringFile: cephKeyring, pool: pool.first, timeoutSeconds: cephTimeout)
    }

    /// `configuration`, with a wrong combination as the flag parser's own
    /// error (both services' `validate()`).
    public func validated(dataDirectory: String) throws -> BackendConfiguration {
        do { return try configuration(dataDirectory: dataDirectory) } catch { throw ValidationError(error.message) }
    }

    /// Opens every pool (`StoragePools.open`).
    public func open(dataDirectory: String) async throws -> StoragePools {
        try await StoragePools.open(try configuration(dataDirectory: dataDirectory), extraPools: Array(pool.dropFirst()))
    }
}
