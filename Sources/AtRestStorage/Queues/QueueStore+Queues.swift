import AtRestCrypto

/// Creating, deleting, listing and describing queues.
extension QueueStore {
    /// `.alreadyExists` when the account has a queue of that name.
    public func createQueue(account: String, name: String, metadata: [String: String] = [:], accountKey: AccountKey) async throws {
        try QueueLimits.validate(queueName: name)
        try QueueLimits.validate(metadata: metadata)
        let directory = try directory(account, accountKey), recordKey = try directoryKey(account, name, accountKey)
        try await createMapIfAbsent(directory)
        let (map, sealed) = try newQueue(account, name, metadata, directory, recordKey, accountKey)
        // The map first: a queue record never names a map that is not there.
        try await backend.createRecordMap(map)
        try await addName(map, RecordBatch(conditions: [.absent(recordKey)], sets: [recordKey: sealed]), in: directory, account, name)
    }

    private func createMapIfAbsent(_ map: RecordMapName) async throws {
        _ = try await StorageError.succeeds(unless: .alreadyExists) { try await self.backend.createRecordMap(map) }
    }

    /// Adds the queue's name to the directory, or removes its map again when the name is taken.
    private func addName(_ map: RecordMapName, _ batch: RecordBatch, in directory: RecordMapName, _ account: String, _ name: String) async throws {
        if try await StorageError.succeeds(unless: .conditionFailed, { try await self.backend.apply(batch, to: directory) }) { return }
        _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(map) }
        throw StorageError(.alreadyExists, "queue '\(name)' already exists in account '\(account)'")
    }

    /// A new queue's message map (random id) and its sealed directory record.
    private func newQueue(_ account: String, _ name: String, _ metadata: [String: String], _ directory: RecordMapName, _ recordKey: String,
                          _ accountKey: AccountKey) throws -> (RecordMapName, [UInt8]) {
        let record = QueueRecord(id: try SecureRandom.bytes(MessageRecord.idSize), creationTime: clock(), name: name, metadata: metadata)
        let sealed = try SealedRecord.seal(try record.encoded, context: Self.queueContext(account), map: directory, key: recordKey, accountKey: accountKey)
        return (try messages(account, record.id, accountKey), sealed)
    }

    /// Removes the queue and every message in it (`.notFound`).
    public func deleteQueue(account: String, name: String, accountKey: AccountKey) async throws {
        let (record, sealed) = try await queueRecord(account, name, accountKey)
        let recordKey = try directoryKey(account, name, accountKey)
        let directory = try directory(account, accountKey), map = try messages(account, record.id, accountKey)
        // The name first: once it is gone no call finds the queue, whatever happens to its map.
        guard try await StorageError.succeeds(unless: .conditionFailed, {
            try await self.backend.apply(RecordBatch(conditions: [.equals(recordKey, sealed)], removes: [recordKey]), to: directory)
        }) else {
            // Changed (or deleted and created again) by another call meanwhile: delete what is there now.
            return try await deleteQueue(account: account, name: name, accountKey: accountKey)
        }
        maps[.init(account: account, name: name, keyCheck: accountKey.checkValue)] = nil
        _ = try await StorageError.succeeds(unless: .notFound) { try await self.backend.deleteRecordMap(map) }
    }

    /// The queue's name, metadata, creation time and approximate message count.
    public func properties(account: String, name: String, accountKey: AccountKey) async throws -> QueueInfo {
        let record = try await queueRecord(account, name, accountKey).record
        let map = try messages(account, record.id, accountKey)
        var count = 0, after: String?
        repeat {
            let page = try await backend.records(map, after: after, limit: 1000)
            count += page.records.count
            after = page.more ? page.records.last?.key : nil
        } while after != nil
        return QueueInfo(name: name, metadata: record.metadata, creationTime: record.creationTime, approximateMessageCount: count)
    }

    /// Replaces the queue's metadata.
    public func setMetadata(account: String, name: String, metadata: [String: String], accountKey: AccountKey) async throws {
        try QueueLimits.validate(metadata: metadata)
        let directory = try directory(account, accountKey), recordKey = try directoryKey(account, name, accountKey)
        while true {
            var (record, sealed) = try await queueRecord(account, name, accountKey)
            record.metadata = metadata
            let resealed = try SealedRecord.seal(try record.encoded, context: Self.queueContext(account), map: directory, key: recordKey, accountKey: accountKey)
            do {
                return try await backend.apply(RecordBatch(conditions: [.equals(recordKey, sealed)], sets: [recordKey: resealed]), to: directory)
            } catch let error as StorageError where error.code == .conditionFailed {
                continue  // changed meanwhile: apply to what is there now
            }
        }
    }

    /// Queues whose names start with `prefix`, by name, after `continuation` (a name from the last page).
    public func listQueues(account: String, prefix: String = "", continuation: String? = nil, limit: Int = 1000,
                           accountKey: AccountKey) async throws -> QueueListing {
        guard QueueLimits.listPage.contains(limit) else { throw StorageError(.invalidArgument, "list 1-1000 queues at a time, not \(limit)") }
        let directory = try directory(account, accountKey)
        var queues: [QueueInfo] = []
        // No directory: the account never had a queue.
        for entry in try await backend.allRecords(directory) ?? [] {
            let record = try QueueRecord(decoding: try SealedRecord.open(entry.value, context: Self.queueContext(account), map: directory,
                                                                         key: entry.key, accountKey: accountKey))
            guard record.name.hasPrefix(prefix), continuation.map({ record.name > $0 }) ?? true else { continue }
            queues.append(QueueInfo(name: record.name, metadata: record.metadata, creationTime: record.creationTime))
        }
        // Names are hashed in the directory: the order by name is made here.
        queues.sort { $0.name < $1.name }
        let page = Array(queues.prefix(limit))
        return QueueListing(queues: page, continuation: queues.count > limit ? page.last?.name : nil)
    }
}
