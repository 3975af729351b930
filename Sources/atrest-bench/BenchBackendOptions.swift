import ArgumentParser
import AtRestTesting

/// `--backend`, `--dev-osds`, `--dev-store`: where a bench's cluster stores, and for `rados` the throwaway
/// ceph-dev cluster started for the run (`atrest-bench e2e`, `atrest-bench table`).
struct BenchBackendOptions: ParsableArguments {
    @Option(help: "Storage: local, or rados (a ceph-dev cluster started for the run; the bench's overview says what its baseline is on each).")
    var backend = "local"
    @Option(name: .customLong("dev-osds"), help: "rados: OSDs of the ceph-dev cluster (pool size min(N, 3)).") var devOSDs = 1
    @Option(name: .customLong("dev-store"), help: "rados: memstore or bluestore.") var devStore = "memstore"

    func validate() throws {
        guard ["local", "rados"].contains(backend) else { throw ValidationError("--backend: local or rados") }
        guard CephDevScript.Store(rawValue: devStore) != nil else { throw ValidationError("--dev-store: memstore or bluestore") }
    }

    var isRados: Bool { backend == "rados" }

    /// For `rados`, starts the ceph-dev cluster (pool `atrest`) and prints it with `note`; nil for `local`.
    /// The caller stops it.
    func startCeph(_ note: String) throws -> CephDevScript? {
        guard isRados else { return nil }
        let started = try CephDevScript.start(pool: "atrest", osds: devOSDs, store: CephDevScript.Store(rawValue: devStore)!, tag: "bench-ceph")
        print("rados: a ceph-dev cluster (\(devOSDs) \(devStore) OSD\(devOSDs == 1 ? "" : "s")), pool atrest; \(note)")
        return started
    }
}
