import AtRestWire

extension KeyVault {
    /// Records an event of an account's key life cycle that happens outside
    /// the vault (the front door's re-encryption job, retiring account key
    /// versions) in the audit log, with the same chain and hashed names as
    /// every vault call. The caller is the account's managed identity (the
    /// front door calls as it), so the entry names the account only hashed;
    /// it needs an unwrap grant on `key` (the account's KEK), and `event`
    /// must be one of `RecordAccountEventRequest.events`, so no caller can
    /// write an entry that looks like a vault operation.
    public func recordAccountEvent(_ request: RecordAccountEventRequest, caller: VaultCaller, callID: [UInt8] = []) throws(VaultError) {
        guard RecordAccountEventRequest.events.contains(request.event) else {
            throw VaultError(.invalidArgument, "unknown account event '\(request.event.prefix(64))': one of \(RecordAccountEventRequest.events.sorted().joined(separator: ", "))")
        }
        guard request.detail.count <= RecordAccountEventRequest.maxDetail,
              request.detail.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw VaultError(.invalidArgument, "an account event's detail is at most \(RecordAccountEventRequest.maxDetail) printable characters")
        }
        let key = qualified(request.key.unversioned, for: caller)
        try audited(request.event, key, caller, callID, detail: request.detail) { () throws(VaultError) in
            try requireReach(caller, key)
            guard !caller.accountID.isEmpty else {
                throw VaultError(.permissionDenied, "account events are recorded by an account's managed identity; \(caller) is not one")
            }
            try requireGrant(caller, .unwrap, key)
        }
    }
}
