import AtRestWire

extension AccountRegistry {
    /// The record for a data-plane call on the broker's loop, which cannot
    /// wait for the backend: a cache hit; nil when a backend read found no
    /// such account since the last refresh pass; otherwise the read starts
    /// (or is already running) and the call gets UNAVAILABLE with
    /// retry_after_ms and reason `accountLookup` (it was not started: retry
    /// it). A record that does not open answers its DATA_LOSS.
    func admissionRecord(_ account: String) throws(RPCStatus) -> AccountRecord? {
        enum State { case found(AccountRecord), missed(RegistryCache.Miss), start, running, busy }
        let state: State = cache.withLock { cache in
            if let record = cache.record(account) { return .found(record) }
            if let miss = cache.misses[account] { return .missed(miss) }
            if cache.lookups.contains(account) { return .running }
            guard cache.lookups.count < RegistryCache.maxLookups else { return .busy }
            cache.lookups.insert(account)
            return .start
        }
        switch state {
        case .found(let record): return record
        case .missed(.absent): return nil
        case .missed(.failed(let status)): throw status
        case .busy:
            throw RPCStatus(.unavailable, "too many account lookups are running on this front door; retry later", retryAfterMs: 200,
                            details: ["reason": "accountLookup"])
        case .start:
            Task { await self.admissionLookup(account) }
            fallthrough
        case .running:
            throw RPCStatus(.unavailable, "account '\(account)' is not cached on this front door yet; it is being read from the registry: "
                            + "retry after retry_after_ms (the call was not started)", retryAfterMs: 50, details: ["reason": "accountLookup"])
        }
    }

    private func admissionLookup(_ account: String) async {
        let since = cache.withLock { $0.stamp }
        var miss: RegistryCache.Miss?
        do {
            if let found = try await read(account) {
                remember(account, found.record, found.version, since: since)
            } else {
                miss = .absent
            }
        } catch let status as RPCStatus where status.code == .dataLoss {
            miss = .failed(status)
        } catch {
            logger.warning("account lookup failed", metadata: ["account": "\(account)", "error": "\(error)"])
        }
        cache.withLock { cache in
            cache.lookups.remove(account)
            if let miss, cache.misses.count < RegistryCache.maxMisses { cache.misses[account] = miss }
        }
    }
}
