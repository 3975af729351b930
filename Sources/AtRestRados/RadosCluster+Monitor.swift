internal import CRados

extension RadosCluster {
    /// Sends one JSON command to the monitors (what `ceph …` does) and
    /// returns its output; blocks the calling thread up to the monitor timeout.
    public func monitorCommand(_ json: String) throws -> [UInt8] {
        var output: UnsafeMutablePointer<CChar>?
        var outputLength = 0
        var status: UnsafeMutablePointer<CChar>?
        var statusLength = 0
        let rc = json.withCString { command -> Int32 in
            var commands: [UnsafePointer<CChar>?] = [command]
            return rados_mon_command(handle, &commands, 1, nil, 0, &output, &outputLength, &status, &statusLength)
        }
        defer {
            if let output { rados_buffer_free(output) }
            if let status { rados_buffer_free(status) }
        }
        let statusText = status.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: statusLength), as: UTF8.self) } ?? ""
        try RadosError.check(rc, "monitor command \(json)\(statusText.isEmpty ? "" : ": \(statusText)")")
        return output.map { Array(UnsafeRawBufferPointer(start: $0, count: outputLength)) } ?? []
    }

    /// How many copies of each object `pool` keeps (its `size`); needs the
    /// monitors' `allow r` capability, which the least-privilege user has.
    public func replicaCount(ofPool pool: String) throws -> Int {
        let escaped = pool.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let output = try monitorCommand(#"{"prefix": "osd pool get", "pool": "\#(escaped)", "var": "size", "format": "json"}"#)
        // {"pool":"atrest","pool_id":1,"size":2}
        let text = String(decoding: output, as: UTF8.self)
        guard let range = text.range(of: "\"size\":") else {
            throw RadosError(.failed, "the monitors' answer for the size of pool '\(pool)' has no size: \(text.prefix(200))")
        }
        let digits = text[range.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }
        guard let size = Int(digits), size > 0 else {
            throw RadosError(.failed, "the monitors' answer for the size of pool '\(pool)' is not a positive number: \(text.prefix(200))")
        }
        return size
    }

    /// `replicaCount` without blocking the cooperative pool.
    public func replicaCount(ofPool pool: String) async throws -> Int {
        try await RadosBlocking.run { try self.replicaCount(ofPool: pool) }
    }
}
