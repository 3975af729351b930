import AtRestCrypto
import AtRestWire

/// An entry as one line of `audit.log`.
extension AuditEntry {
    /// The line's fields before the hash: tab-separated, tabs and newlines in
    /// values replaced by spaces so a value cannot forge a field or a line.
    /// The key's tenant needs no field: the qualified key id carries its tag
    /// (`KeyNamespace`).
    var line: String {
        [String(seq), String(time), Hex.encode(callID), principalID, tenantID, operation, key.provider, key.keyID,
         String(key.version), result, detail]
            .map { $0.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 }.reduce(into: "") { $0.append($1) } }
            .joined(separator: "\t")
    }

    /// Parses the fields of `line` (without the hash); nil when malformed.
    init?(line: Substring) {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 11, let seq = UInt64(f[0]), let time = Int64(f[1]), let callID = Hex.decode(f[2]),
              let version = UInt32(f[8]) else { return nil }
        self.init(seq: seq, time: time, callID: callID, principalID: f[3], tenantID: f[4], operation: f[5],
                  key: KeyRef(provider: f[6], keyID: f[7], version: version), result: f[9], detail: f[10])
    }
}
