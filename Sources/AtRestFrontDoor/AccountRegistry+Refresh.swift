import AtRestStorage
import AtRestWire

extension AccountRegistry {
    /// One refresh pass: lists the container, stats every record, rereads
    /// the changed ones and drops the removed ones. A record that no longer
    /// opens is dropped from the cache (fail closed) and logged once per
    /// version. Backend failures keep the cache as it is until the next pass.
    func refresh() async {
        let since = cache.withLock { $0.stamp }
        do {
            let listed = try await listNames()
            let known = cache.withLock { $0.entries.mapValues(\.version) }
            for objectName in listed {
                let name = try BackendName(RegistrySealing.container, objectName)
                let info: BackendObjectInfo
                do { info = try await backend.stat(name) } catch let error as StorageError where error.code == .notFound { continue }
                if let version = known[objectName], version == info.version { continue }
                do {
                    guard let stored = try await readStored(name, account: nil) else { continue }
                    cache.withLock { _ = $0.set(objectName, stored.record, stored.version, since: since) }
                } catch let status as RPCStatus where status.code == .dataLoss {
                    let dropped = cache.withLock { $0.set(objectName, nil, info.version, since: since) }
                    if dropped { logger.error("account registry record fails closed", metadata: ["record": "\(objectName)", "error": "\(status.message)"]) }
                }
            }
            cache.withLock { cache in
                cache.keep(only: Set(listed), since: since)
                cache.misses = [:]
            }
        } catch {
            logger.warning("account registry refresh failed; serving the cached records", metadata: ["error": "\(error)"])
        }
    }

    /// Records a record this front door wrote or read.
    func remember(_ account: String, _ record: AccountRecord, _ version: BackendVersion, since: UInt64?) {
        guard let name = try? sealing.name(account) else { return }
        cache.withLock { _ = $0.set(name.object, record, version, since: since) }
    }

    /// Records that this front door deleted the account.
    func forget(_ account: String) {
        guard let name = try? sealing.name(account) else { return }
        cache.withLock { _ = $0.set(name.object, nil, nil, since: nil) }
    }
}
