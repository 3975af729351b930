internal import CRados

/// A connection to a Ceph cluster (one `rados_t`), shut down when the last
/// reference (including every pool opened from it) goes away.
public final class RadosCluster: @unchecked Sendable {
    // Immutable after init; librados handles are thread-safe.
    let handle: rados_t
    /// The monitor addresses from the conf file, for error messages.
    public let monitors: String
    /// The cephx user (`client.` prefixed) and the bound on each operation, for error messages.
    let user: String
    let timeoutSeconds: String
    /// Data bytes in flight through this handle's aio calls.
    let budget: RadosByteBudget

    /// Reads the conf file, sets the timeouts and connects. Throws
    /// `.unreachable` naming the monitors when they do not answer within
    /// `configuration.timeout`, `.permissionDenied` for a rejected key.
    public init(_ configuration: RadosConfiguration) throws {
        var cluster: rados_t?
        try RadosError.check(rados_create2(&cluster, "ceph", configuration.fullUserName, 0), "rados_create2(\(configuration.fullUserName))")
        guard let cluster else { throw RadosError(.failed, "rados_create2 returned no handle") }
        var connected = false
        defer { if !connected { rados_shutdown(cluster) } }

        try RadosError.check(rados_conf_read_file(cluster, configuration.confFile), "reading Ceph configuration \(configuration.confFile)")
        if let keyring = configuration.keyringFile {
            try RadosError.check(rados_conf_set(cluster, "keyring", keyring), "setting keyring")
        }
        let seconds = String(max(1, configuration.timeout.components.seconds))
        for option in ["client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout"] {
            try RadosError.check(rados_conf_set(cluster, option, seconds), "setting \(option)")
        }
        // Above our own budget, so librados' throttle never blocks an aio caller's thread.
        try RadosError.check(rados_conf_set(cluster, "objecter_inflight_op_bytes", String(2 * configuration.inFlightBytes)),
                             "setting objecter_inflight_op_bytes")
        let monitors = Self.confValue(cluster, "mon_host") ?? "(no mon_host in \(configuration.confFile))"
        let rc = rados_connect(cluster)
        if rc < 0 {
            var error = RadosError.from(rc, "connecting to Ceph monitors \(monitors) as \(configuration.fullUserName)")
            if error.code == .timedOut || error.errno == atrest_rados_enotconn {
                error.code = .unreachable
                error.message = "Ceph monitors \(monitors) did not answer within \(seconds) s (connecting as \(configuration.fullUserName))"
            } else if error.code == .permissionDenied {
                let keyring = configuration.keyringFile.map { "keyring \($0)" } ?? "the keyring named in \(configuration.confFile)"
                error.message += ": the monitors rejected the key of \(configuration.fullUserName) (\(keyring)); "
                    + "it must be the one `ceph auth get \(configuration.fullUserName)` shows"
            }
            throw error
        }
        connected = true
        self.handle = cluster
        self.monitors = monitors
        self.user = configuration.fullUserName
        self.timeoutSeconds = seconds
        self.budget = RadosByteBudget(limit: configuration.inFlightBytes)
    }

    deinit { rados_shutdown(handle) }

    /// Opens `name`; throws `.poolNotFound` when the pool does not exist.
    /// Objects live in `namespace` of the pool (RADOS namespaces: separate
    /// object sets in one pool, e.g. one per test; "" is the default).
    public func openPool(_ name: String, namespace: String = "") throws -> RadosPool {
        var ioctx: rados_ioctx_t?
        let rc = rados_ioctx_create(handle, name, &ioctx)
        if rc == -atrest_rados_enoent {
            throw RadosError(.poolNotFound, errno: -rc, "Ceph pool '\(name)' does not exist (create it, e.g. `ceph osd pool create \(name)`)")
        }
        try RadosError.check(rc, "opening Ceph pool '\(name)'")
        guard let ioctx else { throw RadosError(.failed, "rados_ioctx_create returned no handle") }
        if !namespace.isEmpty { rados_ioctx_set_namespace(ioctx, namespace) }
        return RadosPool(cluster: self, ioctx: ioctx, name: name)
    }

    private static func confValue(_ cluster: rados_t, _ option: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 1024)
        guard rados_conf_get(cluster, option, &buffer, buffer.count) == 0 else { return nil }
        let value = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return value.isEmpty ? nil : value
    }
}
