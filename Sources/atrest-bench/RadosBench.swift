import ArgumentParser
import AtRestRados
import AtRestTesting
import Foundation

/// `atrest-bench rados` (issue 14): librados' own ceiling on a pool
/// (`RadosCeiling`): write_full and read of 4 KiB, 1 MiB and 64 MiB objects,
/// 64 MiB also as 16 × 4 MiB stripes written concurrently, `--in-flight`
/// calls outstanding, ops/s and MiB/s per case. On an existing cluster
/// (`--ceph-conf`, `--ceph-user`, `--keyring`, `--pool`) or on a throwaway
/// one that `--start-dev` starts with scripts/ceph-dev.sh and stops after.
struct RadosBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rados",
        abstract: "librados' own write_full/read ceiling on a pool: 4 KiB, 1 MiB, 64 MiB (whole and 16×4 MiB stripes), N in flight.")

    @Option(help: "Seconds per case.") var seconds = 2.0
    @Option(name: .customLong("in-flight"), help: "librados calls outstanding (aio), per case.") var inFlight = 8
    @Option(help: "Cases to run, comma-separated, from: 4k, 1m, 64m, index (omap entry writes: one index object vs 16), replace (4 KiB replaces of existing objects in the op patterns a backend can choose), spread and spread1m (4 KiB or 1 MiB write_full over 4, 64 and 256 objects).")
    var cases = "4k,1m,64m"
    @Option(name: .customLong("ceph-conf"), help: "ceph.conf of the cluster to measure (naming its monitors).") var cephConf: String?
    @Option(name: .customLong("ceph-user"), help: "cephx user.") var cephUser = "client.atrest"
    @Option(help: "The user's keyring (default: the conf file's `keyring` setting).") var keyring: String?
    @Option(help: "Pool to write to (objects `ceiling-*`, removed afterwards).") var pool = "atrest"
    @Flag(name: .customLong("start-dev"), help: "Start a throwaway cluster with scripts/ceph-dev.sh in a temp directory, stop it after.")
    var startDev = false
    @Option(name: .customLong("dev-osds"), help: "With --start-dev: OSDs (pool size min(N, 3)).") var devOSDs = 1
    @Option(name: .customLong("dev-store"), help: "With --start-dev: memstore or bluestore.") var devStore = "memstore"
    var store: CephDevScript.Store { CephDevScript.Store(rawValue: devStore) ?? .memstore }

    func validate() throws {
        guard startDev != (cephConf != nil) else { throw ValidationError("give either --ceph-conf or --start-dev") }
        guard CephDevScript.Store(rawValue: devStore) != nil else { throw ValidationError("--dev-store: memstore or bluestore") }
        guard inFlight >= 1, seconds > 0 else { throw ValidationError("--in-flight and --seconds must be positive") }
        for tag in cases.split(separator: ",") where RadosCeiling.Size.named(String(tag)) == nil && !["index", "replace", "spread", "spread1m"].contains(tag) {
            throw ValidationError("unknown case '\(tag)' (4k, 1m, 64m, index, replace, spread, spread1m)")
        }
    }

    func run() async throws {
        let dev = startDev ? try CephDevScript.start(pool: pool, osds: devOSDs, store: store, tag: "bench-ceph") : nil
        defer { try? dev?.stop() }
        let conf = dev?.confFile ?? cephConf!
        let user = dev == nil ? cephUser : "client.atrest"
        let cluster = try RadosCluster(RadosConfiguration(confFile: conf, user: user, keyringFile: dev?.keyringFile ?? keyring, timeout: .seconds(60)))
        let target = try cluster.openPool(pool)
        let place = dev == nil ? "monitors \(cluster.monitors)" : "a ceph-dev cluster (\(devOSDs) \(devStore) OSD\(devOSDs == 1 ? "" : "s"))"
        print("rados bench: librados aio on pool '\(pool)' of \(place) as \(user), \(inFlight) in flight, \(seconds) s per case")
        var ceiling = RadosCeiling(pool: target, inFlight: inFlight, seconds: seconds)
        if let dev { ceiling.meter = .librados(dev) }
        for tag in cases.split(separator: ",") {
            let figures = switch tag {
            case "index": try await ceiling.measureIndex()
            case "replace": try await ceiling.measureReplace()
            case "spread": try await ceiling.measureSpread()
            case "spread1m": try await ceiling.measureSpread(bytes: 1 << 20)
            default: try await ceiling.measure(RadosCeiling.Size.named(String(tag))!)
            }
            for figure in figures { print(figure.line) }
        }
    }
}
