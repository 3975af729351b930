internal import CRados

extension RadosPool {
    /// The names of every object in the pool (in this pool handle's
    /// namespace), in no particular order. librados' listing calls block,
    /// so they run on a dispatch thread (`RadosBlocking`), never on the cooperative pool; meant
    /// for maintenance (garbage collection), not for serving requests.
    public func objectNames() async throws -> [String] {
        try await RadosBlocking.run { try self.listObjectNames() }
    }

    private func listObjectNames() throws(RadosError) -> [String] {
        var context: rados_list_ctx_t?
        try check(rados_nobjects_list_open(ioctx, &context), "listing objects of pool \(name)")
        guard let context else { return [] }
        defer { rados_nobjects_list_close(context) }
        var names: [String] = []
        while true {
            var entry: UnsafePointer<CChar>?
            let rc = rados_nobjects_list_next(context, &entry, nil, nil)
            if rc == -atrest_rados_enoent { return names }
            try check(rc, "listing objects of pool \(name)")
            if let entry { names.append(String(cString: entry)) }
        }
    }
}
