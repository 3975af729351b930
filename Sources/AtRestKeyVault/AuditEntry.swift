import AtRestCrypto
import AtRestWire

/// One audit record: who did what to which key version, with what result.
public struct AuditEntry: Sendable, Equatable, WireMessage {
    public static let protoName = "atrest.v1.VaultAuditEntry"
    public var seq: UInt64
    public var time: Int64
    public var callID: [UInt8]
    public var principalID: String
    /// The caller's tenant. In `audit.log` it is the keyed hash `tenant~…`
    /// (`AuditNames`); a reader allowed to see the name gets it back.
    public var tenantID: String
    public var operation: String
    public var key: KeyRef
    /// "ok" or a `VaultError.Code`.
    public var result: String
    /// Account and tenant names in it are keyed hashes in `audit.log`.
    public var detail: String

    public init(seq: UInt64 = 0, time: Int64, callID: [UInt8], principalID: String, tenantID: String,
                operation: String, key: KeyRef, result: String, detail: String = "") {
        self.seq = seq
        self.time = time
        self.callID = callID
        self.principalID = principalID
        self.tenantID = tenantID
        self.operation = operation
        self.key = key
        self.result = result
        self.detail = detail
    }

    public init(wire: WireFields) throws {
        self.init(seq: wire.uint64(1), time: wire.int64(2), callID: wire.bytes(3), principalID: wire.string(4),
                  tenantID: wire.string(5), operation: wire.string(6),
                  key: try wire.message(7) ?? KeyRef(provider: "", keyID: ""), result: wire.string(8), detail: wire.string(9))
    }

    public var wire: WireFields {
        [1: .uint(seq), 2: .int(time), 3: .bytes(callID), 4: .string(principalID), 5: .string(tenantID),
         6: .string(operation), 7: WireValue(key), 8: .string(result), 9: .string(detail)]
    }

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

    /// Written by `atrest-keyvault recover-audit`: records entries that are
    /// missing or did not verify, and may skip sequence numbers.
    public static let gapOperation = "AuditGap"
}

/// The outcome of verifying the audit log.
public struct AuditVerification: Sendable, Equatable {
    public var intact: Bool
    public var entries: UInt64
    /// 1-based line number of the first entry that does not verify; 0 when intact.
    public var firstBadLine: UInt64
    public var problem: String
    /// The `AuditGap` entries in the verified part of the chain: gaps an
    /// operator recorded with `atrest-keyvault recover-audit`.
    public var gaps: [AuditEntry]

    public init(intact: Bool, entries: UInt64, firstBadLine: UInt64 = 0, problem: String = "", gaps: [AuditEntry] = []) {
        self.intact = intact
        self.entries = entries
        self.firstBadLine = firstBadLine
        self.problem = problem
        self.gaps = gaps
    }
}
