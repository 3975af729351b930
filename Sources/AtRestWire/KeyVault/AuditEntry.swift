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
