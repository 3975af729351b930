extension RadosPool {
    /// `RadosError.check` for a call on this pool, with what an operator needs
    /// to act on the two failures a deployment causes: a capability the cephx
    /// user lacks (who, which pool, what AtRest needs) and OSDs that do not
    /// answer within the configured timeout.
    @discardableResult
    func check(_ rc: Int32, _ call: @autoclosure () -> String) throws(RadosError) -> Int32 {
        guard rc < 0 else { return rc }
        var error = RadosError.from(rc, call())
        switch error.code {
        case .permissionDenied:
            error.message += ": cephx user \(cluster.user) may not do this on pool '\(name)'; AtRest needs mon 'allow r' "
                + "osd 'allow rw pool=\(name)' (`ceph auth get \(cluster.user)` shows the user's capabilities)"
        case .timedOut:
            error.message += ": the OSDs of pool '\(name)' did not answer within \(cluster.timeoutSeconds) s "
                + "(are they up and the pool's placement groups active? `ceph -s`)"
        default: break
        }
        throw error
    }
}
